"""What safety inspectors see: incident history, response-time statistics, device health and
hazard rectification, with CSV and PDF exports.

The query modules (``history``, ``stats``, ``health``, ``rectification``) take a connection and
the caller's allowed site ids and know nothing of HTTP, so the API, the console and
``anxin bench history`` run the very same SQL; ``views`` is the HTTP face.
"""

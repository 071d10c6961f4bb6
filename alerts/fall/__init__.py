"""Fall detection: on-device impact trigger plus a server-side classifier of impact windows."""

"""Alert producers: detectors that turn device streams into alarms for staff."""

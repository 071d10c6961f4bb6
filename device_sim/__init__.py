"""Device fleet simulator: sites, residents and devices that speak the MQTT contract."""

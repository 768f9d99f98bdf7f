"""The pocket host as a service: the systemd unit, the state file, the phone page's lasting token."""

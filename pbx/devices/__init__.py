"""Users' phones: PJSIP realtime provisioning (models, provision) and line status from device states (lines)."""

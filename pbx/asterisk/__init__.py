"""The Asterisk adapter: FastAGI server, AMI client, the dialplan contract, and a wire-true simulator."""

"""Cloud PBX control plane: the controller that decides, call by call, what Asterisk does next."""

__version__ = "0.1.0"

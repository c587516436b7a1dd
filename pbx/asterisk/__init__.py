"""The Asterisk adapter: FastAGI server, AMI client, the dialplan contract, and a wire-true simulator.

The rest of the product uses these names only; codecs and simulator internals stay private."""

from pbx.asterisk.agi_server import AGIHangupError, AGISession, FastAGIServer
from pbx.asterisk.ami import AMIActionError, AMIAuthError, AMIClient, AMIConnectionError, AMITimeoutError
from pbx.asterisk.amicodec import AMIMessage
from pbx.asterisk.contract import ContractError, ContractSettings, call_from_args, encode_action, encode_position
from pbx.asterisk.router import Router

__all__ = [
    "AGIHangupError",
    "AGISession",
    "AMIActionError",
    "AMIAuthError",
    "AMIClient",
    "AMIConnectionError",
    "AMIMessage",
    "AMITimeoutError",
    "ContractError",
    "ContractSettings",
    "FastAGIServer",
    "Router",
    "call_from_args",
    "encode_action",
    "encode_position",
]

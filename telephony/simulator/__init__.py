"""PBX simulator: an AMI server that replays recorded Asterisk 20 call scenarios."""
from telephony.simulator.server import PbxSimulator

__all__ = ["PbxSimulator"]

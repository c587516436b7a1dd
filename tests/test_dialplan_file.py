"""asterisk-config/extensions.conf, the simulator and the contract agree on the contexts they share."""

from __future__ import annotations

import re
from pathlib import Path

from pbx.asterisk import sim_dialplan

CONF = Path(__file__).resolve().parent.parent / "asterisk-config" / "extensions.conf"
ACTIONS = {"menu", "dial", "ring", "queue", "voicemail", "collect", "hangup"}  # contract.py's PBX_DO actions


def contexts() -> set[str]:
    return set(re.findall(r"^\[(pbx-[a-z-]+)\]", CONF.read_text(), flags=re.M))


def test_every_action_has_a_context_and_the_simulator_acts_out_every_context() -> None:
    found = contexts()
    assert {f"pbx-{a}" for a in ACTIONS} <= found
    simulated = {name[1:].replace("_", "-") for name in dir(sim_dialplan.Dialplan) if name.startswith("_pbx_")}
    assert found == simulated, f"only in extensions.conf: {found - simulated}; only simulated: {simulated - found}"


def test_the_step_clears_pbx_do_before_asking() -> None:
    step = CONF.read_text().split("[pbx-step]", 1)[1]
    assert step.index("Set(PBX_DO=)") < step.index("AGI(agi://${PBX_AGI}/route,${PBX_DIALLED},${PBX_POS},${PBX_RESULT})")

"""A tenant's own prompts (F-04): upload, list, play, remove; nothing half-written, no tenant reaches another's."""

from __future__ import annotations

import dataclasses
import io
import math
import struct
import wave
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pbx.db import make_engine, migrate, save_tenant, session_factory
from pbx.db.store import NotFound
from pbx.demo import annat, exempel
from pbx.ivr.audio import AudioRejected
from pbx.ivr.prompts import PromptStore
from pbx.routing.model import PromptConfig


def speech_wav(seconds: float, rate: int = 44100, amplitude: int = 8000) -> bytes:
    """A stereo CD-rate WAV of a 440 Hz tone: what someone might upload."""
    frames = b"".join(struct.pack("<hh", v, v) for i in range(int(seconds * rate))
                      for v in [int(amplitude * math.sin(2 * math.pi * 440 * i / rate))])
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PromptStore]:
    url = f"sqlite:///{tmp_path / 'pbx.sqlite'}"
    migrate(url)
    sessions = session_factory(make_engine(url))
    with sessions() as session:
        save_tenant(session, exempel())
        # Annat AB has a prompt with the same key as one of Exempel's: keys are per tenant
        save_tenant(session, dataclasses.replace(annat(), prompts=(PromptConfig("exempel-huvudmeny", "Hej"),)))
        session.commit()
    yield PromptStore(sessions, tmp_path / "prompts")


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_upload_becomes_the_prompts_telephone_audio(store: PromptStore) -> None:
    stored = store.upload("exempel", "exempel-huvudmeny", speech_wav(1.5), "meny.wav", by="asa")
    assert stored.file == "t/exempel/exempel-huvudmeny.wav" and stored.rate == 8000
    assert stored.seconds is not None and abs(stored.seconds - 1.5) < 0.05
    path = store.audio_path("exempel", "exempel-huvudmeny")
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    listed = {p.key: p for p in store.prompts("exempel")}
    assert listed["exempel-huvudmeny"].file == "t/exempel/exempel-huvudmeny.wav"
    assert listed["exempel-goteborg"].file is None and listed["exempel-goteborg"].seconds is None
    # a wideband upload replaces the narrowband file rather than sitting beside it
    wide = store.upload("exempel", "exempel-huvudmeny", speech_wav(1.0), "meny.wav", wideband=True)
    assert wide.file == "t/exempel/exempel-huvudmeny.wav16" and wide.rate == 16000
    assert files(store.root) == ["t/exempel/exempel-huvudmeny.wav16"]


def test_bad_uploads_change_nothing(store: PromptStore) -> None:
    store.upload("exempel", "exempel-huvudmeny", speech_wav(1.0), "meny.wav")
    before = store.audio_path("exempel", "exempel-huvudmeny").read_bytes()
    for data, reason in ((b"", "empty"), (b"this is not audio at all" * 40, "not-audio"),
                         (speech_wav(1.0, amplitude=0), "silent")):
        with pytest.raises(AudioRejected) as rejected:
            store.upload("exempel", "exempel-huvudmeny", data, "x.wav")
        assert rejected.value.reason == reason
    assert store.audio_path("exempel", "exempel-huvudmeny").read_bytes() == before
    assert files(store.root) == ["t/exempel/exempel-huvudmeny.wav"]


def test_a_prompt_the_tenant_has_not_configured_is_not_found_and_nothing_is_written(store: PromptStore) -> None:
    with pytest.raises(NotFound):
        store.upload("exempel", "welcome", speech_wav(0.5), "x.wav")  # a system prompt, not one of theirs
    with pytest.raises(ValueError, match="prompt key"):
        store.upload("exempel", "../annat/exempel-huvudmeny", speech_wav(0.5), "x.wav")
    with pytest.raises(NotFound):
        store.upload("nobody", "welcome", speech_wav(0.5), "x.wav")
    assert files(store.root) == []


def test_tenants_never_reach_each_others_prompts(store: PromptStore) -> None:
    store.upload("annat", "exempel-huvudmeny", speech_wav(0.5), "hej.wav")
    with pytest.raises(NotFound):  # the same key at Exempel has no audio: Annat's file is not Exempel's
        store.audio_path("exempel", "exempel-huvudmeny")
    assert store.remove_audio("exempel", "exempel-huvudmeny") is False
    assert store.audio_path("annat", "exempel-huvudmeny").is_file()
    assert [p.key for p in store.prompts("annat")] == ["exempel-huvudmeny"]
    assert {p.key: p.file for p in store.prompts("exempel")}["exempel-huvudmeny"] is None


def test_removing_the_audio_keeps_the_prompt_and_a_deleted_tenant_loses_its_files(store: PromptStore) -> None:
    store.upload("exempel", "exempel-goteborg", speech_wav(0.5), "gbg.mp3.wav")
    store.upload("annat", "exempel-huvudmeny", speech_wav(0.5), "hej.wav")
    assert store.remove_audio("exempel", "exempel-goteborg", by="asa") is True
    assert store.remove_audio("exempel", "exempel-goteborg") is False
    with pytest.raises(NotFound):
        store.audio_path("exempel", "exempel-goteborg")
    assert "exempel-goteborg" in {p.key for p in store.prompts("exempel")}
    store.upload("exempel", "exempel-goteborg", speech_wav(0.5), "gbg.wav")
    assert store.delete_tenant_files("exempel") is True and store.delete_tenant_files("exempel") is False
    assert files(store.root) == ["t/annat/exempel-huvudmeny.wav"]


def test_the_async_twins_do_the_same(store: PromptStore) -> None:
    import asyncio

    async def main() -> tuple[str | None, bool]:
        stored = await store.aupload("exempel", "exempel-huvudmeny", speech_wav(0.5), "m.wav")
        assert (await store.aaudio_path("exempel", "exempel-huvudmeny")).is_file()
        assert (await store.aprompts("exempel"))[0].file == "t/exempel/exempel-huvudmeny.wav"
        return stored.file, await store.aremove_audio("exempel", "exempel-huvudmeny")

    assert asyncio.run(main()) == ("t/exempel/exempel-huvudmeny.wav", True)


def test_a_purged_tenant_leaves_no_row_and_no_file_and_the_other_keeps_everything(tmp_path: Path,
                                                                                    store: PromptStore) -> None:
    from sqlalchemy import func, select

    from pbx.asterisk.sim_core import write_wav
    from pbx.db.models import PromptRow, VoicemailMessageRow
    from pbx.tenants import purge_tenant
    from pbx.voicemail.messages import VoicemailStore

    media, spool = tmp_path / "media", tmp_path / "spool"
    vm = VoicemailStore(store._sessions, media, lambda: datetime.now(UTC))
    for tenant, box in (("exempel", "vaxel"), ("annat", "info")):
        write_wav(str(spool / "voicemail" / tenant / box / "1.1.wav"), 2.0)
        assert vm.deposit(tenant, box, spool / "voicemail" / tenant / box / "1.1.wav", call_id="1.1", caller="+4670",
                          dialled="+4681", at=datetime.now(UTC)) is not None
        store.upload(tenant, "exempel-huvudmeny", speech_wav(0.5), "m.wav")
    write_wav(str(spool / "prompts" / "exempel" / "9.9.wav"), 1.0)  # a recording by phone in progress
    assert purge_tenant(store._sessions, "exempel", media=media, prompts=store.root, spool=spool) is True
    assert purge_tenant(store._sessions, "exempel", media=media, prompts=store.root, spool=spool) is False
    with store._sessions() as session:
        assert session.scalar(select(func.count()).select_from(VoicemailMessageRow)) == 1
        assert session.scalar(select(func.count()).select_from(PromptRow)) == 1
    assert [m.tenant for m in vm.messages("annat")] == ["annat"]
    assert files(media) == [f"annat/{vm.messages('annat')[0].file.split('/', 1)[1]}"]
    assert files(store.root) == ["t/annat/exempel-huvudmeny.wav"]
    assert files(spool) == []
    with pytest.raises(ValueError):
        purge_tenant(store._sessions, "../annat", media=media, prompts=store.root, spool=spool)

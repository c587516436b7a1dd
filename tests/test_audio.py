"""Prompt audio: uploads in common formats become telephone WAV, bad uploads are refused cleanly,
prompts are stored atomically and only where they belong, and the default prompts are generated."""

from __future__ import annotations

import array
import asyncio
import hashlib
import importlib.util
import io
import math
import os
import random
import shutil
import subprocess
import sys
import wave
from pathlib import Path
from types import ModuleType

import pytest

from pbx.ivr import audio

ROOT = Path(__file__).resolve().parent.parent


def tone(path: Path, seconds: float = 1.0, volume_db: float = -10.0, channels: int = 2, rate: int = 44100,
         source: str = "sine=frequency=440") -> Path:
    """An audio file of the format its name says, made by ffmpeg."""
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"{source}:sample_rate={rate}:duration={seconds}", "-af", f"volume={volume_db}dB",
                    "-ac", str(channels), str(path)], check=True)
    return path


def read_wav(wav: bytes) -> tuple[int, int, int, array.array[int]]:
    with wave.open(io.BytesIO(wav), "rb") as w:
        samples = array.array("h", w.readframes(w.getnframes()))
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), samples


def dbfs(value: float) -> float:
    return 20 * math.log10(value / 32768) if value else -math.inf


def peak_dbfs(samples: array.array[int]) -> float:
    return dbfs(max(abs(s) for s in samples))


def rms_dbfs(samples: array.array[int]) -> float:
    return dbfs(math.sqrt(sum(s * s for s in samples) / len(samples)))


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- conversion ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["wav", "mp3", "ogg", "m4a", "flac"])
@pytest.mark.parametrize("wideband", [False, True], ids=["8k", "16k"])
def test_upload_in_common_formats_becomes_telephone_wav(tmp_path: Path, ext: str, wideband: bool) -> None:
    upload = tone(tmp_path / f"greeting.{ext}", seconds=1.5)
    wav = audio.convert_prompt(upload.read_bytes(), upload.name, wideband=wideband)
    rate, channels, width, samples = read_wav(wav)
    assert (rate, channels, width) == (16000 if wideband else 8000, 1, 2)
    assert len(samples) / rate == pytest.approx(1.5, abs=0.1)
    assert peak_dbfs(samples) > -25


def test_the_file_name_does_not_decide_the_format(tmp_path: Path) -> None:
    upload = tone(tmp_path / "greeting.ogg")
    wav = audio.convert_prompt(upload.read_bytes(), "greeting.mp3")
    assert read_wav(wav)[0] == 8000


def test_whispered_recording_is_lifted_to_speaking_level(tmp_path: Path) -> None:
    upload = tone(tmp_path / "quiet.wav", volume_db=-25)  # lavfi's sine is at -18 dBFS: peak -43 dBFS
    _, _, _, samples = read_wav(audio.convert_prompt(upload.read_bytes(), "quiet.wav"))
    assert rms_dbfs(samples) == pytest.approx(audio.TARGET_RMS_DBFS, abs=1.0)


def test_shouted_recording_is_brought_down(tmp_path: Path) -> None:
    upload = tone(tmp_path / "loud.flac", volume_db=17, source="sine=frequency=300")
    _, _, _, samples = read_wav(audio.convert_prompt(upload.read_bytes(), "loud.flac"))
    assert rms_dbfs(samples) == pytest.approx(audio.TARGET_RMS_DBFS, abs=1.0)


def test_a_loud_click_does_not_clip(tmp_path: Path) -> None:
    rate = 44100
    click = [round(29000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(rate // 200)]
    murmur = [round(300 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(rate)]
    upload = audio.wav_bytes(array.array("h", click + murmur).tobytes(), rate)
    _, _, _, samples = read_wav(audio.convert_prompt(upload, "click.wav"))
    assert peak_dbfs(samples) == pytest.approx(audio.PEAK_CEILING_DBFS, abs=0.5)


def test_conversion_off_the_event_loop(tmp_path: Path) -> None:
    upload = tone(tmp_path / "greeting.mp3")

    async def main() -> Path:
        wav = await audio.convert_prompt_async(upload.read_bytes(), upload.name)
        path = await audio.store_prompt_async(tmp_path / "store", "exempel", "welcome", wav)
        assert await audio.delete_prompt_async(tmp_path / "store", "exempel", "welcome")
        return path

    assert asyncio.run(main()).name == "welcome.wav"


# --- refusals -----------------------------------------------------------------------------------


def upload_and_store(store: Path, data: bytes, filename: str, **limits: float) -> Path:
    """What the admin API does with an upload."""
    wav = audio.convert_prompt(data, filename, **limits)  # type: ignore[arg-type]
    return audio.store_prompt(store, "exempel", "welcome", wav)


def refused(store: Path, data: bytes, filename: str, **limits: float) -> audio.AudioRejected:
    with pytest.raises(audio.AudioRejected) as info:
        upload_and_store(store, data, filename, **limits)
    assert not store.exists() or files_under(store) == []
    return info.value


def zero_frame_wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
    return out.getvalue()


def test_empty_upload_is_refused(tmp_path: Path) -> None:
    assert refused(tmp_path, b"", "greeting.wav").reason == "empty"


def test_random_bytes_are_not_audio(tmp_path: Path) -> None:
    noise = random.Random(5).randbytes(50_000)
    for name in ("greeting.mp3", "greeting.wav", "greeting"):
        assert refused(tmp_path, noise, name).reason == "not-audio"


def test_text_file_named_mp3_is_refused_with_a_message_not_ffmpegs_output(tmp_path: Path) -> None:
    rejected = refused(tmp_path, "Hej! Det här är ingen ljudfil.\n".encode() * 50, "greeting.mp3")
    assert rejected.reason == "not-audio"
    assert rejected.message == str(rejected)
    assert "could not be read as audio" in rejected.message
    assert "ffmpeg" not in rejected.message and "Invalid" not in rejected.message and "\n" not in rejected.message


def test_a_playlist_posing_as_mp3_is_not_followed(tmp_path: Path) -> None:
    secret = tone(tmp_path / "other-tenant.wav")
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{secret}\n#EXT-X-ENDLIST\n".encode()
    assert refused(tmp_path / "store", playlist, "greeting.mp3").reason == "not-audio"


def test_too_large_upload_is_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    upload = tone(tmp_path / "greeting.wav").read_bytes()
    monkeypatch.setattr(audio, "_decode", lambda *a: pytest.fail("decoded a file that was too large"))
    rejected = refused(tmp_path / "store", upload, "greeting.wav", max_bytes=len(upload) - 1)
    assert rejected.reason == "too-large"
    assert "larger than" in rejected.message


def test_too_long_recording_is_refused(tmp_path: Path) -> None:
    upload = tone(tmp_path / "long.mp3", seconds=4).read_bytes()
    rejected = refused(tmp_path / "store", upload, "long.mp3", max_seconds=2)
    assert rejected.reason == "too-long"
    assert "2 seconds" in rejected.message


def test_silent_recording_is_refused(tmp_path: Path) -> None:
    upload = tone(tmp_path / "silence.wav", source="anullsrc=channel_layout=stereo", rate=44100).read_bytes()
    assert refused(tmp_path / "store", upload, "silence.wav").reason == "silent"
    hiss = tone(tmp_path / "hiss.flac", volume_db=-70).read_bytes()
    assert refused(tmp_path / "store", hiss, "hiss.flac").reason == "silent"


def test_audio_file_without_samples_is_refused(tmp_path: Path) -> None:
    assert refused(tmp_path / "store", zero_frame_wav(), "greeting.wav").reason == "no-samples"


def test_missing_ffmpeg_is_the_servers_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(audio.MediaToolsMissing, match="ensure-media-tools"):
        audio.convert_prompt(b"RIFF....", "greeting.wav")


# --- storing ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prompt_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    upload = tone(tmp_path_factory.mktemp("upload") / "greeting.wav")
    return audio.convert_prompt(upload.read_bytes(), "greeting.wav")


def test_stored_prompt_is_where_the_dialplan_plays_it(tmp_path: Path, prompt_wav: bytes) -> None:
    path = audio.store_prompt(tmp_path, "exempel", "welcome", prompt_wav)
    assert path == tmp_path / "t" / "exempel" / "welcome.wav"  # played as pbx/t/exempel/welcome
    assert path.read_bytes() == prompt_wav
    assert files_under(tmp_path) == [path]


def test_failed_store_keeps_the_old_prompt_and_leaves_no_temporary_file(
        tmp_path: Path, prompt_wav: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    path = audio.store_prompt(tmp_path, "exempel", "welcome", prompt_wav)
    newer = audio.convert_prompt(tone(tmp_path / "newer.wav", volume_db=-20, source="sine=frequency=880")
                                 .read_bytes(), "newer.wav")
    (tmp_path / "newer.wav").unlink()
    assert newer != prompt_wav

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        audio.store_prompt(tmp_path, "exempel", "welcome", newer)
    assert files_under(tmp_path) == [path]
    assert path.read_bytes() == prompt_wav


def test_failed_write_leaves_no_temporary_file(tmp_path: Path, prompt_wav: bytes,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync_fails(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync_fails)
    with pytest.raises(OSError, match="Input/output"):
        audio.store_prompt(tmp_path, "exempel", "welcome", prompt_wav)
    assert files_under(tmp_path) == []


def test_replacing_a_prompt_replaces_it(tmp_path: Path, prompt_wav: bytes) -> None:
    audio.store_prompt(tmp_path, "exempel", "welcome", prompt_wav)
    other = audio.wav_bytes(bytes(1600), 8000)
    path = audio.store_prompt(tmp_path, "exempel", "welcome", other)
    assert path.read_bytes() == other
    assert files_under(tmp_path) == [path]


def test_wideband_prompt_replaces_the_narrowband_one(tmp_path: Path) -> None:
    upload = tone(tmp_path / "greeting.flac")
    narrow = audio.convert_prompt(upload.read_bytes(), "greeting.flac")
    wide = audio.convert_prompt(upload.read_bytes(), "greeting.flac", wideband=True)
    upload.unlink()
    audio.store_prompt(tmp_path, "exempel", "welcome", narrow)
    path = audio.store_prompt(tmp_path, "exempel", "welcome", wide)
    # Asterisk's format_wav plays 16 kHz only from .wav16; a stale .wav would be heard on narrowband calls
    assert files_under(tmp_path) == [tmp_path / "t" / "exempel" / "welcome.wav16"] == [path]
    assert audio.delete_prompt(tmp_path, "exempel", "welcome")
    assert files_under(tmp_path) == []
    assert not audio.delete_prompt(tmp_path, "exempel", "welcome")


@pytest.mark.parametrize(("tenant", "key"), [
    ("..", "welcome"), ("../annat", "welcome"), ("exempel", "../../etc/passwd"), ("exempel", "a/b"),
    ("exempel", ".hidden"), ("", "welcome"), ("exempel", ""), ("Exempel", "welcome"), ("exempel", "välkommen"),
    ("exempel", "x" * 65), ("exempel", "welcome\0"), ("exempel", "-rf"), ("exempel\n", "welcome"),
])
def test_prompt_outside_the_tenants_directory_is_refused(tmp_path: Path, prompt_wav: bytes, tenant: str,
                                                         key: str) -> None:
    store = tmp_path / "store"
    with pytest.raises(ValueError, match="must be"):
        audio.store_prompt(store, tenant, key, prompt_wav)
    with pytest.raises(ValueError, match="must be"):
        audio.delete_prompt(store, tenant, key)
    assert files_under(tmp_path) == []


def test_only_converted_prompts_are_stored(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a WAV"):
        audio.store_prompt(tmp_path, "exempel", "welcome", b"ID3 an mp3")
    stereo = io.BytesIO()
    with wave.open(stereo, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(bytes(400))
    with pytest.raises(ValueError, match="not a prompt WAV"):
        audio.store_prompt(tmp_path, "exempel", "welcome", stereo.getvalue())
    assert files_under(tmp_path) == []


# --- default prompts ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def make_sounds() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sounds", ROOT / "scripts" / "make_sounds.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sounds"] = module
    spec.loader.exec_module(module)
    return module


def test_default_prompt_is_generated_as_telephone_wav(tmp_path: Path, make_sounds: ModuleType) -> None:
    manifest = make_sounds.make_sounds(tmp_path, keys=["queue-wait"])
    assert sorted(files_under(tmp_path)) == [tmp_path / "en" / "queue-wait.wav", tmp_path / "manifest.json",
                                             tmp_path / "sv" / "queue-wait.wav"]
    for lang in ("sv", "en"):
        wav = (tmp_path / lang / "queue-wait.wav").read_bytes()
        rate, channels, width, samples = read_wav(wav)
        assert (rate, channels, width) == (8000, 1, 2)
        assert len(samples) / rate > 0.5
        assert peak_dbfs(samples) == pytest.approx(audio.PEAK_CEILING_DBFS, abs=3)
        entry = manifest["prompts"][lang]["queue-wait"]
        assert entry["sha256"] == hashlib.sha256(wav).hexdigest()
        assert entry["text"] == ("Beräknad väntetid är" if lang == "sv" else "The estimated wait is")


def test_default_prompts_are_reproducible(tmp_path: Path, make_sounds: ModuleType) -> None:
    first = make_sounds.make_sounds(tmp_path / "a", keys=["num-20"], languages=("sv",))
    second = make_sounds.make_sounds(tmp_path / "b", keys=["num-20"], languages=("sv",))
    assert first == second
    assert (tmp_path / "a" / "sv" / "num-20.wav").read_bytes() == (tmp_path / "b" / "sv" / "num-20.wav").read_bytes()


def test_beep_before_the_recording(make_sounds: ModuleType) -> None:
    rate, channels, width, samples = read_wav(make_sounds.beep())
    assert (rate, channels, width) == (8000, 1, 2)
    assert len(samples) == 2400  # 300 ms
    assert peak_dbfs(samples) == pytest.approx(-6, abs=0.1)


def test_committed_sounds_match_the_catalogue_and_manifest(make_sounds: ModuleType) -> None:
    assert make_sounds.check(ROOT / "sounds") == []


def test_check_reports_a_missing_recording(tmp_path: Path, make_sounds: ModuleType) -> None:
    make_sounds.make_sounds(tmp_path, keys=["welcome"])
    os.unlink(tmp_path / "sv" / "welcome.wav")
    problems = make_sounds.check(tmp_path)
    assert "sv/welcome: " + str(tmp_path / "sv" / "welcome.wav") + " is missing" in problems
    assert "en/goodbye: not recorded" in problems

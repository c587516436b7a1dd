"""The demo tenants (Exempel AB and Annat AB, see shared/DEMO-TENANT.md) as configuration values."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from pbx.db.store import Account
from pbx.routing.model import (
    Announcement,
    BarringClass,
    CallbackNode,
    Flow,
    Forwarding,
    GroupConfig,
    GroupMember,
    GroupNode,
    HangupNode,
    Menu,
    NumberConfig,
    PresenceEntry,
    PresenceRule,
    PresenceStatus,
    PromptConfig,
    QueueConfig,
    QueueNode,
    ScheduleSwitch,
    ServiceNode,
    Target,
    TenantConfig,
    UserConfig,
    UserNode,
    VoicemailBoxConfig,
    VoicemailNode,
)
from pbx.routing.schedule import HolidayTemplate, ScheduleConfig, ScheduleException, parse_intervals, weekly_hours

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MAIN_NUMBER = "+46812345600"
GOTEBORG_NUMBER = "+46317654300"
ANNAT_NUMBER = "+46851234500"
VOICEMAIL_NUMBER = "+46812345698"  # listeners call here for their messages (caller ID known)
PROMPTS_NUMBER = "+46812345699"  # the reception records the tenant's prompts here


def kontorstid() -> ScheduleConfig:
    weekday = "08:00-12:00,12:45-17:00"
    return ScheduleConfig(
        key="kontorstid",
        name="Kontorstid",
        timezone="Europe/Stockholm",
        weekly=weekly_hours({"mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday,
                             "fri": "08:00-12:00,12:45-15:00"}),
        exceptions=(ScheduleException(date(2026, 12, 23), parse_intervals("08:00-12:00"), "Dagen före julafton"),),
        holidays=HolidayTemplate("SE", ("public", "de_facto")),
    )


def _user(key: str, name: str, ext: str, **kw: object) -> UserConfig:
    return UserConfig(key=key, name=name, extension=ext, devices=(f"PJSIP/{key}",), email=f"{key}@exempel.se",
                      **kw)  # type: ignore[arg-type]


def exempel() -> TenantConfig:
    users = (
        _user("anna", "Anna Andersson", "201", kind="both", mobile_number="+46701111111",
              fixed_number="+46812345601"),
        _user("bjorn", "Björn Berg", "202"),
        _user("cecilia", "Cecilia Ek", "203"),
        _user("david", "David Dahl", "301"),
        _user("eva", "Eva Ström", "302"),
        _user("asa", "Åsa Öberg", "100", fixed_number="+46812345610",
              presence_rules=(PresenceRule(PresenceStatus.LUNCH, Target("user", "david")),),
              forwarding=Forwarding(on_no_answer=Target("voicemail", "vaxel"), no_answer_after_s=25),
              outbound_caller_id="main"),  # the reception calls out as the company (U-04)
        _user("olle", "Olle Östlund", "401", voicemail="olle", barred=frozenset({BarringClass.INTERNATIONAL,
                                                                                  BarringClass.PREMIUM})),
    )
    main = Flow("huvud", "Stockholm huvudnummer", "valkommen", (
        Announcement("valkommen", "welcome", "oppet", name="Välkommen"),
        ScheduleSwitch("oppet", "kontorstid", open="meny", closed="stangt", holiday="helg", name="Kontorstid?"),
        Menu("meny", "exempel-huvudmeny", {"1": "salj", "2": "support", "3": "ekonomi", "0": "reception"},
             timeout_next="support", invalid_next="support", attempts=2, name="Huvudmeny"),
        GroupNode("salj", "salj", overflow="vm-salj", name="Sälj"),
        QueueNode("support", "support", overflow="vm-support", name="Support"),
        VoicemailNode("ekonomi", "ekonomi", name="Ekonomi"),
        UserNode("reception", "asa", next="vm-vaxel", name="Växeln"),
        Announcement("stangt", "closed", "vm-vaxel", name="Vi har stängt"),
        Announcement("helg", "holiday", "vm-vaxel", name="Helgdag"),
        VoicemailNode("vm-salj", "salj"),
        VoicemailNode("vm-support", "support"),
        VoicemailNode("vm-vaxel", "vaxel"),
    ))
    goteborg = Flow("goteborg", "Göteborg", "valkommen", (
        Announcement("valkommen", "exempel-goteborg", "oppet"),
        ScheduleSwitch("oppet", "kontorstid", open="meny", closed="vm-vaxel", name="Kontorstid?"),
        Menu("meny", "exempel-goteborg-meny", {"1": "support", "2": "callback"}, timeout_next="support",
             invalid_next="support", name="Göteborgsmeny"),
        QueueNode("support", "support", overflow="vm-vaxel"),
        CallbackNode("callback", queue="support", next="tack"),
        HangupNode("tack", "callback-confirm"),
        VoicemailNode("vm-vaxel", "vaxel"),
    ))
    voicemail = Flow("rostbrevlada", "Lyssna på röstbrevlådan", "lyssna", (
        ServiceNode("lyssna", "voicemail", name="Röstbrevlådan"),
    ))
    recording = Flow("inspelning", "Spela in meddelanden", "spela-in", (
        ServiceNode("spela-in", "prompts", users=("asa", "anna"), name="Inspelning",
                    prompts={"1": "exempel-huvudmeny", "2": "exempel-goteborg", "3": "exempel-goteborg-meny"}),
    ))
    return TenantConfig(
        key="exempel",
        name="Exempel AB",
        numbers=(
            NumberConfig(MAIN_NUMBER, flow="huvud", label="Stockholm main number"),
            NumberConfig(GOTEBORG_NUMBER, flow="goteborg", label="Göteborg main number"),
            NumberConfig("+46812345601", user="anna", label="Anna direct"),
            NumberConfig("+46701111111", user="anna", via="mobile", label="Anna mobile"),
            NumberConfig("+46812345610", user="asa", label="Reception direct"),
            NumberConfig(VOICEMAIL_NUMBER, flow="rostbrevlada", label="Voicemail service"),
            NumberConfig(PROMPTS_NUMBER, flow="inspelning", label="Prompt recording service"),
        ),
        flows=(main, goteborg, voicemail, recording),
        schedules=(kontorstid(),),
        users=users,
        groups=(GroupConfig("salj", "Sälj", tuple(GroupMember(u, 20) for u in ("anna", "bjorn", "cecilia")),
                            strategy="sequential", overflow_after_s=60),),
        queues=(QueueConfig("support", "Support", ("david", "eva"), strategy="longest_idle", wrapup_s=30,
                            announce_every_s=45, callback_key="1", max_wait_s=600,
                            callback_notify=("support@exempel.se",)),),
        boxes=(
            VoicemailBoxConfig("salj", "Sälj", listeners=("anna", "bjorn", "cecilia")),
            VoicemailBoxConfig("support", "Support", listeners=("david", "eva")),
            VoicemailBoxConfig("ekonomi", "Ekonomi", listeners=("olle",)),
            VoicemailBoxConfig("vaxel", "Växel", listeners=("asa", "anna")),
            VoicemailBoxConfig("olle", "Olle Östlund", shared=False, listeners=("olle",)),
        ),
        prompts=(
            PromptConfig("exempel-huvudmeny", "Tryck 1 för försäljning, 2 för support, 3 för ekonomi, 0 för växeln"),
            PromptConfig("exempel-goteborg", "Välkommen till Exempel AB i Göteborg"),
            PromptConfig("exempel-goteborg-meny", "Tryck 1 för support, 2 för att bli uppringd"),
        ),
        fallback=Target("voicemail", "vaxel"),
    )


def annat() -> TenantConfig:
    """A second, minimal tenant: present in every multi-tenant test so isolation is exercised."""
    return TenantConfig(
        key="annat",
        name="Annat AB",
        numbers=(NumberConfig(ANNAT_NUMBER, flow="enkel", label="main number"),),
        flows=(Flow("enkel", "Enkel", "hej", (
            Announcement("hej", "welcome", "brevlada"),
            VoicemailNode("brevlada", "info"),
        )),),
        boxes=(VoicemailBoxConfig("info", "Info"),),
    )


def demo_tenants() -> list[TenantConfig]:
    return [exempel(), annat()]


def demo_accounts() -> list[Account]:
    """Exempel AB's account tree (DEMO-TENANT.md): the main account with Stockholm and Göteborg under it."""
    return [
        Account("exempel", "Exempel AB"),
        Account("stockholm", "Stockholm", parent="exempel",
                numbers=(MAIN_NUMBER, "+46812345601", "+46701111111", "+46812345610", VOICEMAIL_NUMBER,
                         PROMPTS_NUMBER),
                users=("anna", "bjorn", "cecilia", "asa", "olle")),
        Account("goteborg", "Göteborg", parent="exempel", numbers=(GOTEBORG_NUMBER,), users=("david", "eva")),
    ]


def demo_presence(day: date) -> dict[tuple[str, str], tuple[PresenceEntry, ...]]:
    """Åsa's daily lunch (12:00–12:45) on `day`, as the demo's live presence."""
    start = datetime.combine(day, time(12, 0), STOCKHOLM)
    end = datetime.combine(day, time(12, 45), STOCKHOLM)
    return {("exempel", "asa"): (PresenceEntry(PresenceStatus.LUNCH, start, end, "Lunch"),)}

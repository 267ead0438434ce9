"""The offline Telegram: the real PTB Bot and Application talk to it as to Telegram.

Each test drives a real `telegram.Bot` (or `Application`) through the simulator's request
objects and checks both what the bot gets back (PTB's own exceptions) and what users see.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox.html_check import HtmlError, parse_html, utf16_len
from sandbox.sim_errors import ApiError
from sandbox.sim_state import tiny_png
from sandbox.simulator import SimMessage, SimulatorError, TelegramSimulator
from sandbox.spec import ApiSpec

ALICE, BOB, GROUP = 1001, 1002, -5001
NOW = 1_781_000_000.0
T = TypeVar("T")
# PTB 22 warns that RetryAfter.retry_after will become a timedelta; `seconds` handles both.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


class Ticks:
    """A monotonic clock the test moves by hand, for the flood limits."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def sim(ticks: Ticks) -> TelegramSimulator:
    simulator = TelegramSimulator(clock=ticks, wall_clock=lambda: NOW)
    simulator.add_user(ALICE, "Alice")
    simulator.add_user(BOB, "Bob", language_code="en", username="bob")
    simulator.add_group(GROUP, "考核群")
    return simulator


def with_bot(sim: TelegramSimulator, scenario: Callable[[Bot], Awaitable[T]]) -> T:
    """Run `scenario` with a real, initialised Bot wired to the simulator."""

    async def main() -> T:
        bot = Bot(sim.token, request=sim.request(), get_updates_request=sim.request())
        async with bot:
            return await scenario(bot)

    return asyncio.run(main())


def send(sim: TelegramSimulator, chat_id: int | str, text: str, **kwargs: Any) -> Message:
    """One sendMessage by a fresh Bot, for tests about what Telegram accepts."""
    return with_bot(sim, lambda bot: bot.send_message(chat_id, text, **kwargs))


def refused(text: str) -> str:
    """A pattern for PTB's message: it drops "Bad Request: " and changes the case."""
    return "(?i)" + re.escape(text)


def seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def keyboard(count: int, data: str = "d") -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(f"b{i}", callback_data=f"{data}{i}") for i in range(count)]
    return InlineKeyboardMarkup([buttons[i : i + 10] for i in range(0, count, 10)])


# text and HTML


def test_escaped_html_shows_plain_text_with_entities(sim: TelegramSimulator) -> None:
    message = with_bot(sim, lambda bot: bot.send_message(
        ALICE, "<b>&lt;x&gt;</b> 与 <i>y</i>", parse_mode=ParseMode.HTML))
    assert message.text == "<x> 与 y"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 3), ("italic", 6, 1)]
    shown = sim.last_bot_message(ALICE)
    assert (shown.text, shown.html, shown.from_bot) == (
        "<x> 与 y", "<b>&lt;x&gt;</b> 与 <i>y</i>", True)


def test_text_limit_counts_utf16_after_parsing(sim: TelegramSimulator) -> None:
    for ok in ("a" * 4096, "😀" * 2048, "<b>" + "考" * 4096 + "</b>"):
        send(sim, BOB, ok, parse_mode="HTML")
    for too_long in ("a" * 4097, "😀" * 2048 + "a"):
        with pytest.raises(BadRequest, match=refused("message is too long")):
            send(sim, BOB, too_long)
    for empty in ("   ", "<b> </b>"):
        with pytest.raises(BadRequest, match=refused("message text is empty")):
            send(sim, BOB, empty, parse_mode="HTML")


@pytest.mark.parametrize(("source", "error"), [
    ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
    ("考核<br>", 'Unsupported start tag "br" at byte offset 6'),
    ("前<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
    ("a & b", 'Unescaped "&" at byte offset 2'),
    ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
    ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<a href=https://e.com>x</a>", "Unexpected end of name token at byte offset 8"),
])
def test_bad_html_is_refused_as_telegram_words_it(
        sim: TelegramSimulator, source: str, error: str) -> None:
    with pytest.raises(BadRequest, match=refused(f"can't parse entities: {error}")):
        with_bot(sim, lambda bot: bot.send_message(ALICE, source, parse_mode=ParseMode.HTML))
    with pytest.raises(HtmlError, match=re.escape(error)):
        parse_html(source)
    assert sim.bot_messages(ALICE) == []


def test_html_entities_pre_links_and_utf16_offsets() -> None:
    parsed = parse_html(
        '😀<b>x</b> <a href="https://e.com/?a=1&amp;b=2">链接</a>'
        '<pre><code class="language-python">print(1)</code></pre>&#x1F600;&quot;'
        '<blockquote expandable>q</blockquote><tg-spoiler>s</tg-spoiler>')
    assert parsed.text == '😀x 链接print(1)😀"qs'
    assert parsed.entities == [
        {"type": "bold", "offset": 2, "length": 1},
        {"type": "text_link", "offset": 4, "length": 2, "url": "https://e.com/?a=1&b=2"},
        {"type": "pre", "offset": 6, "length": 8, "language": "python"},
        {"type": "expandable_blockquote", "offset": 17, "length": 1},
        {"type": "spoiler", "offset": 18, "length": 1},
    ]
    assert utf16_len("😀考") == 3


def test_text_is_trimmed_like_telegram(sim: TelegramSimulator) -> None:
    message = send(sim, ALICE, "\n  <b>标题</b>\n正文\n\n", parse_mode="HTML")
    assert message.text == "标题\n正文"
    assert [(e.offset, e.length) for e in message.entities] == [(0, 2)]


def test_other_parse_modes_are_refused(sim: TelegramSimulator) -> None:
    with pytest.raises(BadRequest, match=refused("parse_mode MarkdownV2 is not supported")):
        with_bot(sim, lambda bot: bot.send_message(ALICE, "*x*", parse_mode="MarkdownV2"))


# the spec


def test_unknown_and_unimplemented_methods(sim: TelegramSimulator) -> None:
    with pytest.raises(EndPointNotFound):
        with_bot(sim, lambda bot: bot.do_api_request("frobnicateChat", api_kwargs={"x": 1}))
    with pytest.raises(BadRequest, match=refused("not supported by the simulator: sendPoll")):
        with_bot(sim, lambda bot: bot.send_poll(ALICE, "q", ["a", "b"]))


def test_unknown_parameter_and_wrong_types_are_named(sim: TelegramSimulator) -> None:
    with pytest.raises(BadRequest, match=refused('unknown parameter "colour"')):
        with_bot(sim, lambda bot: bot.send_message(ALICE, "x", api_kwargs={"colour": "red"}))
    with pytest.raises(BadRequest, match=refused('wrong type of "disable_notification"')):
        with_bot(sim, lambda bot: bot.send_message(
            ALICE, "x", api_kwargs={"disable_notification": "yes"}))
    bad_data = {"inline_keyboard": [[{"text": "a", "callback_data": 5}]]}
    with pytest.raises(BadRequest, match=refused(
            '"reply_markup.inline_keyboard[0][0].callback_data": expected String, got int')):
        with_bot(sim, lambda bot: bot.send_message(
            ALICE, "x", api_kwargs={"reply_markup": bad_data}))
    extra = {"inline_keyboard": [[{"text": "a", "callback_data": "x", "colour": "red"}]]}
    with pytest.raises(BadRequest, match=refused('unknown field "colour"')):
        with_bot(sim, lambda bot: bot.send_message(ALICE, "x", api_kwargs={"reply_markup": extra}))
    assert sim.bot_messages(ALICE) == []


def test_spec_checks_required_fields_and_unions() -> None:
    spec = ApiSpec.load()
    assert spec.version.startswith("Bot API")
    with pytest.raises(ApiError, match='parameter "text" is required'):
        spec.check_call("sendMessage", {"chat_id": 1})
    with pytest.raises(ApiError, match='field "command" is required'):
        spec.check_call("setMyCommands", {"commands": [{"description": "d"}]})
    with pytest.raises(ApiError, match=re.escape('scope.type must be "chat"')):
        spec.check_call("setMyCommands", {"commands": [], "scope": {"type": "x", "chat_id": 1}})
    spec.check_call("setMyCommands", {"commands": [], "scope": {"type": "chat", "chat_id": 1}})
    spec.check_call("sendMessage", {"chat_id": "@channel", "text": "x",
                                    "reply_markup": {"keyboard": [[{"text": "k"}]]}})


# keyboards


def test_callback_data_limit_is_64_bytes(sim: TelegramSimulator) -> None:
    for ok in ("x" * 64, "考" * 21):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data=ok)]])
        send(sim, BOB, "k", reply_markup=markup)
    for too_long in ("x" * 65, "考" * 22):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data=too_long)]])
        with pytest.raises(BadRequest, match=refused("BUTTON_DATA_INVALID")):
            send(sim, BOB, "k", reply_markup=markup)


def test_at_most_100_buttons_each_with_one_action(sim: TelegramSimulator) -> None:
    with_bot(sim, lambda bot: bot.send_message(ALICE, "k", reply_markup=keyboard(100)))
    assert len(sim.last_bot_message(ALICE).button_texts()) == 100
    with pytest.raises(BadRequest, match=refused("reply markup is too long")):
        with_bot(sim, lambda bot: bot.send_message(ALICE, "k", reply_markup=keyboard(101)))
    both = InlineKeyboardMarkup(
        [[InlineKeyboardButton("a", url="https://e.com", callback_data="a")]])
    with pytest.raises(BadRequest, match=refused("only one of url, callback_data")):
        with_bot(sim, lambda bot: bot.send_message(ALICE, "k", reply_markup=both))
    bare = InlineKeyboardMarkup([[InlineKeyboardButton("a")]])
    with pytest.raises(BadRequest, match=refused("text buttons are unallowed")):
        with_bot(sim, lambda bot: bot.send_message(ALICE, "k", reply_markup=bare))


def test_reply_keyboard_press_and_remove(sim: TelegramSimulator) -> None:
    menu = ReplyKeyboardMarkup([["报告", "帮助"], ["排名"]], resize_keyboard=True)
    with_bot(sim, lambda bot: bot.send_message(ALICE, "菜单", reply_markup=menu))
    assert sim.reply_keyboard(ALICE) == ["报告", "帮助", "排名"]
    assert sim.last_bot_message(ALICE).button_texts() == ["报告", "帮助", "排名"]
    update = sim.press(ALICE, "报告")
    assert update["message"]["text"] == "报告"
    with pytest.raises(SimulatorError, match="no keyboard button"):
        sim.press(ALICE, "不存在")
    with_bot(sim, lambda bot: bot.send_message(ALICE, "好", reply_markup=ReplyKeyboardRemove()))
    assert sim.reply_keyboard(ALICE) is None


# editing and deleting


def test_edits_not_modified_missing_and_keyboard_dropped(sim: TelegramSimulator) -> None:
    markup = keyboard(2)

    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(ALICE, "<b>v1</b>", parse_mode="HTML", reply_markup=markup)
        with pytest.raises(BadRequest, match=refused("message is not modified: specified new")):
            await bot.edit_message_text("<b>v1</b>", ALICE, sent.message_id, parse_mode="HTML",
                                        reply_markup=markup)
        with pytest.raises(BadRequest, match=refused("message is not modified")):
            await bot.edit_message_reply_markup(ALICE, sent.message_id, reply_markup=markup)
        await bot.edit_message_text("v2", ALICE, sent.message_id)
        with pytest.raises(BadRequest, match=refused("message to edit not found")):
            await bot.edit_message_text("x", ALICE, 999)
        await bot.delete_message(ALICE, sent.message_id)
        with pytest.raises(BadRequest, match=refused("message to delete not found")):
            await bot.delete_message(ALICE, sent.message_id)

    events: list[tuple[str, str | None]] = []
    sim.on_bot_message(lambda message, kind: events.append((kind, message.text)))
    with_bot(sim, scenario)
    shown = sim.bot_messages(ALICE)[0]
    assert (shown.text, shown.edit_count, shown.deleted, shown.reply_markup) == (
        "v2", 1, True, None)
    assert events == [("new", "v1"), ("edited", "v2"), ("deleted", "v2")]
    assert ("editMessageText", "Bad Request: message to edit not found") in sim.errors()


# who can be reached


def test_blocked_user_and_unknown_chat(sim: TelegramSimulator) -> None:
    sim.block(ALICE)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        with_bot(sim, lambda bot: bot.send_message(ALICE, "hi"))
    with pytest.raises(SimulatorError, match="blocked the bot"):
        sim.send_text(ALICE, "hello?")
    sim.unblock(ALICE)
    with_bot(sim, lambda bot: bot.send_message(ALICE, "hi"))
    with pytest.raises(BadRequest, match=refused("chat not found")):
        with_bot(sim, lambda bot: bot.send_message(4242, "hi"))
    with_bot(sim, lambda bot: bot.send_message("@bob", "by username"))
    assert sim.last_bot_message(BOB).text == "by username"


def test_group_conversation_and_replies(sim: TelegramSimulator) -> None:
    update = sim.send_text(BOB, "/rank@kaohe_sandbox_bot 本月", chat_id=GROUP)
    asked = update["message"]
    assert asked["chat"] == {"id": GROUP, "type": "group", "title": "考核群"}
    assert asked["entities"][0]["length"] == len("/rank@kaohe_sandbox_bot")
    send(sim, GROUP, "排名", reply_parameters=ReplyParameters(asked["message_id"]))
    with pytest.raises(BadRequest, match=refused("message to be replied not found")):
        send(sim, GROUP, "排名", reply_parameters=ReplyParameters(999))
    assert [(m.from_bot, m.text) for m in sim.messages(GROUP)] == [
        (False, "/rank@kaohe_sandbox_bot 本月"), (True, "排名")]
    with pytest.raises(SimulatorError, match="another user's private chat"):
        sim.send_text(ALICE, "x", chat_id=BOB)
    with pytest.raises(SimulatorError, match="unknown user"):
        sim.send_text(9, "x")


def test_concurrent_calls_from_many_tasks(sim: TelegramSimulator) -> None:
    for user_id in range(1, 21):
        sim.add_user(user_id, f"u{user_id}")

    async def scenario(bot: Bot) -> list[Message]:
        return list(await asyncio.gather(
            *(bot.send_message(user_id, f"m{user_id}") for user_id in range(1, 21))))

    sent = with_bot(sim, scenario)
    assert [m.chat_id for m in sent] == list(range(1, 21))
    assert all(sim.last_bot_message(u).text == f"m{u}" for u in range(1, 21))


def test_wrong_token_is_rejected(sim: TelegramSimulator) -> None:
    async def main() -> None:
        async with Bot("7000000001:WRONG", request=sim.request(),
                       get_updates_request=sim.request()):
            pass

    with pytest.raises(InvalidToken):
        asyncio.run(main())


# flood limits


def test_private_chat_burst_then_one_per_second(sim: TelegramSimulator, ticks: Ticks) -> None:
    async def scenario(bot: Bot) -> None:
        for i in range(5):
            await bot.send_message(ALICE, f"m{i}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ALICE, "too fast")
        assert seconds(caught.value) == 1
        await bot.send_message(BOB, "another chat is fine")
        ticks.advance(1)
        await bot.send_message(ALICE, "after a second")
        with pytest.raises(RetryAfter):
            await bot.send_message(ALICE, "again too fast")
        await bot.send_chat_action(ALICE, "typing")  # not a sending call: not limited

    with_bot(sim, scenario)
    assert [m.text for m in sim.bot_messages(ALICE)] == [
        "m0", "m1", "m2", "m3", "m4", "after a second"]


def test_group_limit_is_20_per_minute(sim: TelegramSimulator, ticks: Ticks) -> None:
    async def scenario(bot: Bot) -> None:
        for i in range(20):
            await bot.send_message(GROUP, f"g{i}")
            ticks.advance(1)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(GROUP, "21st")
        assert seconds(caught.value) == 40
        ticks.advance(40)
        await bot.send_message(GROUP, "21st")

    with_bot(sim, scenario)
    assert len(sim.bot_messages(GROUP)) == 21


def test_global_limit_is_30_per_second(sim: TelegramSimulator, ticks: Ticks) -> None:
    for user_id in range(1, 32):
        sim.add_user(user_id, f"u{user_id}")

    async def scenario(bot: Bot) -> None:
        for user_id in range(1, 31):
            await bot.send_message(user_id, "broadcast")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(31, "broadcast")
        assert seconds(caught.value) == 1
        ticks.advance(1)
        await bot.send_message(31, "broadcast")

    with_bot(sim, scenario)


def test_limits_can_be_switched_off() -> None:
    sim = TelegramSimulator(rate_limits=False)
    sim.add_user(ALICE, "Alice")

    async def scenario(bot: Bot) -> None:
        for i in range(40):
            await bot.send_message(ALICE, f"m{i}")

    with_bot(sim, scenario)
    assert len(sim.bot_messages(ALICE)) == 40


# injected faults


def test_injected_faults_fail_once_and_change_nothing(sim: TelegramSimulator) -> None:
    async def scenario(bot: Bot) -> None:
        sim.fail_next("sendMessage", "500")
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(ALICE, "a")
        sim.fail_next("sendMessage", "timeout")
        with pytest.raises(TimedOut):
            await bot.send_message(ALICE, "b")
        sim.fail_next(None, "network")
        with pytest.raises(NetworkError):
            await bot.get_me()
        sim.fail_next("sendMessage", "429", count=2, retry_after=7)
        for _ in range(2):
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(ALICE, "c")
            assert seconds(caught.value) == 7
        await bot.send_message(ALICE, "d")

    with_bot(sim, scenario)
    assert [m.text for m in sim.bot_messages(ALICE)] == ["d"]
    assert len(sim.calls("sendMessage")) == 5
    assert sim.errors()[0] == ("sendMessage", "injected 500")


# users acting


def test_tap_needs_a_button_that_is_shown(sim: TelegramSimulator) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("同意", callback_data="approve:7"),
                                    InlineKeyboardButton("说明", url="https://e.com")]])
    message = with_bot(sim, lambda bot: bot.send_message(ALICE, "审核", reply_markup=markup))
    by_label = sim.tap(ALICE, message.message_id, "同意")
    by_data = sim.tap(ALICE, message.message_id, "approve:7")
    assert by_label["callback_query"]["data"] == by_data["callback_query"]["data"] == "approve:7"
    assert by_label["callback_query"]["message"]["reply_markup"] == markup.to_dict()
    with pytest.raises(SimulatorError, match="no inline button '驳回'"):
        sim.tap(ALICE, message.message_id, "驳回")
    with pytest.raises(SimulatorError, match="no callback_data"):
        sim.tap(ALICE, message.message_id, "说明")
    with pytest.raises(SimulatorError, match="no bot message"):
        sim.tap(ALICE, 999, "同意")
    assert sim.last_bot_message(ALICE).buttons() == [
        [("同意", "approve:7"), ("说明", None)]]


def test_resend_delivers_the_same_update_id(sim: TelegramSimulator) -> None:
    first = sim.send_text(ALICE, "/start 123")
    again = sim.resend(first)
    assert again == first
    assert [u["update_id"] for u in sim.pending_updates()] == [1, 1]
    assert first["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert first["message"]["from"] == {
        "id": ALICE, "is_bot": False, "first_name": "Alice", "language_code": "zh-hans"}
    assert first["message"]["date"] == int(NOW)
    assert sim.send_text(BOB, "hi")["update_id"] == 2


def test_get_updates_offset_limit_and_long_poll(sim: TelegramSimulator) -> None:
    for text in ("a", "b", "c"):
        sim.send_text(ALICE, text)

    async def scenario(bot: Bot) -> float:
        assert [u.update_id for u in await bot.get_updates(limit=2)] == [1, 2]
        assert [u.message.text for u in await bot.get_updates(offset=2) if u.message] == [
            "b", "c"]
        assert [u.update_id for u in await bot.get_updates(offset=-1)] == [3]
        assert await bot.get_updates(offset=4) == ()
        asyncio.get_running_loop().call_later(0.05, sim.send_text, BOB, "wake up")
        started = time.monotonic()
        woken = await bot.get_updates(offset=4, timeout=5)
        assert [u.message.text for u in woken if u.message] == ["wake up"]
        return time.monotonic() - started

    assert with_bot(sim, scenario) < 2


def test_webhook_is_stored_and_blocks_polling(sim: TelegramSimulator) -> None:
    async def scenario(bot: Bot) -> None:
        await bot.set_webhook("https://kaohe.example/hook")
        assert (await bot.get_webhook_info()).url == "https://kaohe.example/hook"
        with pytest.raises(Conflict):
            await bot.get_updates()
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates() == ()

    sim.send_text(ALICE, "x")
    with_bot(sim, scenario)


# files


def test_user_photo_and_document_download(sim: TelegramSimulator) -> None:
    photo = sim.send_photo(ALICE, caption="证明", media_group_id="album1")
    photo_id = photo["message"]["photo"][-1]["file_id"]
    document = sim.send_document(ALICE, "台账.xlsx", b"PK\x03\x04 sheet", mime_type="x/y")
    document_id = document["message"]["document"]["file_id"]

    async def scenario(bot: Bot) -> tuple[bytes, bytes]:
        picture = await (await bot.get_file(photo_id)).download_as_bytearray()
        sheet = await (await bot.get_file(document_id)).download_as_bytearray()
        with pytest.raises(BadRequest, match=refused("invalid file_id")):
            await bot.get_file("nope")
        return bytes(picture), bytes(sheet)

    picture, sheet = with_bot(sim, scenario)
    assert picture == sim.file_bytes(photo_id) and picture.startswith(b"\x89PNG")
    assert sheet == b"PK\x03\x04 sheet"
    assert photo["message"]["caption"] == "证明"
    assert photo["message"]["media_group_id"] == "album1"
    assert document["message"]["document"]["file_name"] == "台账.xlsx"
    shown = sim.messages(ALICE)
    assert [(m.photo is not None, m.document_name, m.from_bot) for m in shown] == [
        (True, None, False), (False, "台账.xlsx", False)]


def test_bot_photos_by_upload_and_file_id(sim: TelegramSimulator, ticks: Ticks) -> None:
    user_photo = sim.send_photo(ALICE)["message"]["photo"][-1]["file_id"]

    async def scenario(bot: Bot) -> None:
        uploaded = await bot.send_photo(BOB, InputFile(tiny_png(7), filename="chart.png"),
                                        caption="<b>排名</b>", parse_mode="HTML")
        again = await bot.send_photo(BOB, uploaded.photo[-1].file_id)
        assert again.photo[-1].file_id == uploaded.photo[-1].file_id
        assert uploaded.caption == "排名" and uploaded.caption_entities[0].type == "bold"
        assert await bot.send_photo(BOB, user_photo)
        with pytest.raises(BadRequest, match=refused("IMAGE_PROCESS_FAILED")):
            await bot.send_photo(BOB, b"not an image")
        with pytest.raises(BadRequest, match=refused("message caption is too long")):
            await bot.send_photo(BOB, user_photo, caption="c" * 1025)
        ticks.advance(5)  # a fresh burst for the private chat
        await bot.send_photo(BOB, user_photo, caption="c" * 1024)
        document = (await bot.send_document(BOB, b"%PDF-1.4", filename="r.pdf")).document
        assert document is not None
        with pytest.raises(BadRequest, match=refused("can't use file of type Document as Photo")):
            await bot.send_photo(BOB, document.file_id)
        album = await bot.send_media_group(
            BOB, [InputMediaPhoto(user_photo), InputMediaPhoto(tiny_png(8), caption="二")])
        assert len({m.media_group_id for m in album}) == 1 and album[1].caption == "二"

    with_bot(sim, scenario)
    shown = sim.bot_messages(BOB)
    assert shown[0].photo is not None and shown[0].text == "排名"
    assert shown[0].html == "<b>排名</b>"
    assert sim.file_bytes(shown[0].photo) == tiny_png(7)
    assert shown[-3].document_name == "r.pdf"


# commands


def test_set_my_commands_per_language(sim: TelegramSimulator) -> None:
    async def scenario(bot: Bot) -> None:
        await bot.set_my_commands([BotCommand("report", "填报")])
        await bot.set_my_commands([BotCommand("report", "Report")], language_code="en")
        assert [c.description for c in await bot.get_my_commands(language_code="en")] == [
            "Report"]
        with pytest.raises(BadRequest, match=refused("BOT_COMMAND_INVALID")):
            await bot.set_my_commands([BotCommand("Report!", "bad")])

    with_bot(sim, scenario)
    assert sim.commands() == [{"command": "report", "description": "填报"}]
    assert sim.commands("en") == [{"command": "report", "description": "Report"}]
    assert sim.commands("fr") == []


# a real Application


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("同意", callback_data="ok")]])
    await update.effective_message.reply_text(
        "<b>你好</b>，请审核", parse_mode=ParseMode.HTML, reply_markup=markup)


async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    context.bot_data.setdefault("seen", []).append(query.data)
    await query.answer("收到")
    if query.data == "ok":
        await query.edit_message_text(f"已选择 {query.data}")


def build_app(sim: TelegramSimulator) -> Application[Any, Any, Any, Any, Any, Any]:
    app = (ApplicationBuilder().token(sim.token).request(sim.request())
           .get_updates_request(sim.request()).build())
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(decide))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text
    await update.effective_message.reply_text("回声: " + update.effective_message.text)


def test_application_handles_commands_taps_and_forged_callbacks(sim: TelegramSimulator) -> None:
    async def main() -> list[str]:
        app = build_app(sim)
        async with app:
            async def feed(update: dict[str, Any]) -> None:
                await app.process_update(Update.de_json(update, app.bot))

            await feed(sim.send_text(ALICE, "/start"))
            card = sim.last_bot_message(ALICE)
            assert card.text == "你好，请审核" and card.button_texts() == ["同意"]
            tap = sim.tap(ALICE, card.message_id, "同意")
            await feed(tap)
            with pytest.raises(SimulatorError):
                sim.tap(ALICE, card.message_id, "同意")  # the edit removed the keyboard
            await feed(sim.forge_callback(ALICE, card.message_id, "admin:delete-all"))
            with pytest.raises(BadRequest, match=refused("query is too old")):
                await app.bot.answer_callback_query(tap["callback_query"]["id"])
            seen: list[str] = app.bot_data["seen"]
            return seen

    assert asyncio.run(main()) == ["ok", "admin:delete-all"]
    card = sim.last_bot_message(ALICE)
    assert (card.text, card.reply_markup, card.edit_count) == ("已选择 ok", None, 1)
    assert [a["text"] for a in sim.callback_answers()] == ["收到", "收到"]
    assert sim.errors() == [("answerCallbackQuery", "Bad Request: " + (
        "query is too old and response timeout expired or query ID is invalid"))]


def test_application_polls_updates(sim: TelegramSimulator) -> None:
    async def wait_for(condition: Callable[[], bool]) -> None:
        for _ in range(200):
            if condition():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the bot did not answer in time")

    async def main() -> None:
        app = build_app(sim)
        async with app:
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=timedelta(seconds=5))
            await app.start()
            sim.send_text(ALICE, "ping")
            sim.send_text(BOB, "pong")
            await wait_for(lambda: len(sim.bot_messages(BOB)) == 1)
            await wait_for(lambda: len(sim.bot_messages(ALICE)) == 1)
            await app.updater.stop()
            await app.stop()

    asyncio.run(main())
    assert sim.last_bot_message(ALICE).text == "回声: ping"
    assert sim.last_bot_message(BOB).text == "回声: pong"
    assert sim.pending_updates() == []
    assert sim.calls("deleteWebhook")


def test_sim_message_helpers() -> None:
    message = SimMessage(1, ALICE, True, "t", "t", None, None, None, None,
                         {"keyboard": [["a", {"text": "b"}]]}, int(NOW))
    assert message.buttons() == [] and message.button_texts() == ["a", "b"]
    assert "reply_markup" not in message.to_json()


def test_the_vendored_spec_is_the_shared_one() -> None:
    """The simulator ships a copy of ../shared/telegram/bot-api.min.json; it must not drift."""
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shared = Path(os.environ.get("KAOHE_SHARED_DIR", root.parent / "shared"))
    source = shared / "telegram" / "bot-api.min.json"
    if not source.exists():
        import pytest

        pytest.skip(f"{source} is not here to compare with")
    vendored = root / "sandbox" / "bot-api.min.json"
    assert vendored.read_bytes() == source.read_bytes()

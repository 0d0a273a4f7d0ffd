"""Many Redis commands in one round trip, applied atomically.

redis-py spends about 25 µs of Python per command even in a pipeline (packing each argument through
its encoder, parsing each reply through its callbacks, arming a timeout per read): at a dozen
commands per message that capped the engine near 2,000 messages/s whatever Redis could do. So a
:class:`Batch` goes in one of three forms, each the cheapest where it is used (measured on the
embedded server, client and redis-server CPU together):

- **a script call**: the batch as one MessagePack argument (a fraction of a µs per command) to a
  tiny Lua script that runs the commands. MessagePack rather than JSON: its strings are copied as
  they are, where Redis's JSON decoder unescapes every quote of the records' own JSON inside
  (replaying a pipeline run's batches, redis-server spent 10-15 % less CPU on them). For writes of
  more than a few commands, and for batches with conditional commands (:meth:`Batch.add_if`,
  :meth:`Batch.add_if_equal`, :meth:`Batch.add_unless`), which only a script can run (it reads
  before it writes). Accepting messages 30 at a time: 30 µs per message, against 37 as a transaction.
- **a transaction** (``MULTI`` ... ``EXEC`` packed by hiredis, replies read by one hiredis reader):
  for a few writes. No script call to set up, but hiredis packs each argument at about 0.35 µs, so
  it loses to the script as batches grow. Accepting one message: 231 µs, against 271 as a script.
- **a pipeline** (:meth:`Runner.read`): for batches that only read. The script spends Redis's time
  converting every reply: reading 1,000 records costs redis-server 7.4 µs per record through it,
  1.1 as a pipeline.

A script and a transaction both run atomically, and with the append-only file a transaction is all
or nothing after a crash too. A failing command does not undo the commands before it in either
form (Redis has no rollback), so batches hold only commands that cannot fail on well-formed keys.

The script touches keys it does not declare in ``KEYS``: fine for one Redis server (embedded or
given by URL), not for Redis Cluster, which would need hash-tagged keys per batch.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any, cast

import hiredis
import msgpack
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

RUN = """
local commands = cmsgpack.unpack(ARGV[1])
local replies = {}
local i = 1
while i <= #commands do
  local c = commands[i]
  if c[1] == "UNLESS" then
    local found = redis.call("GET", c[2])
    replies[i] = found
    if found then
      for j = 1, tonumber(c[3]) do
        replies[i + j] = false
      end
      i = i + tonumber(c[3])
    end
  elseif c[1] == "IFEQ" then
    if redis.call("HGET", c[2], c[3]) == c[4] then
      replies[i] = redis.call(unpack(c, 5))
    else
      replies[i] = false
    end
  elseif c[1] == "IFHAS" then
    if redis.call("HEXISTS", c[2], c[3]) == 1 then
      replies[i] = redis.call(unpack(c, 4))
    else
      replies[i] = false
    end
  else
    replies[i] = redis.call(unpack(c))
  end
  i = i + 1
end
if ARGV[2] == "1" then
  return replies
end
return #commands
"""
_packb = cast(Callable[[list[tuple[str, ...]]], bytes], msgpack.Packer(autoreset=True).pack)
# hiredis's stub types the command as a 1-tuple; any tuple of strings is what it takes.
_pack = cast(Callable[[tuple[str, ...]], bytes], hiredis.pack_command)
RUN_SHA = hashlib.sha1(RUN.encode()).hexdigest()
# EVALSHA of RUN with no keys, up to its batch argument's length. The call is packed by hand: hiredis
# copies a large argument slowly (1.5 ms for a batch of 1,000 messages, measured), a join does it
# in a twentieth of that.
_EVALSHA_HEAD = f"*5\r\n$7\r\nEVALSHA\r\n$40\r\n{RUN_SHA}\r\n$1\r\n0\r\n$".encode()
_WITH_REPLIES = {True: b"\r\n$1\r\n1\r\n", False: b"\r\n$1\r\n0\r\n"}
MULTI = _pack(("MULTI",))
EXEC = _pack(("EXEC",))
READ_SIZE = 1 << 17
SCRIPT_FROM = 24  # commands: above this, a script call costs less than a transaction (measured)
_PENDING = object()  # what the reader answers while a reply is incomplete


class Batch:
    """Commands to run in order; every argument a string."""

    __slots__ = ("commands", "conditional")

    def __init__(self) -> None:
        self.commands: list[tuple[str, ...]] = []
        self.conditional = False  # any command that reads before it writes: only the script can

    def add(self, *args: str) -> None:
        self.commands.append(args)

    def add_if(self, key: str, field: str, *args: str) -> None:
        """Run the command only if hash ``key`` has ``field`` (its reply is None otherwise)."""
        self.commands.append(("IFHAS", key, field, *args))
        self.conditional = True

    def add_if_equal(self, key: str, field: str, value: str, *args: str) -> None:
        """Run the command only if field ``field`` of hash ``key`` is ``value`` (else reply None)."""
        self.commands.append(("IFEQ", key, field, value, *args))
        self.conditional = True

    def add_unless(self, key: str, skip: int) -> None:
        """If string ``key`` exists, reply its value and skip the next ``skip`` commands."""
        self.commands.append(("UNLESS", key, str(skip)))
        self.conditional = True

    def __len__(self) -> int:
        return len(self.commands)


class Runner:
    """Runs batches on one client's connections (the script is loaded once, then called by SHA)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._pool = client.connection_pool
        options = self._pool.connection_kwargs
        decode = bool(options.get("decode_responses"))  # as the client's own replies are
        self._encoding: str | None = options.get("encoding", "utf-8") if decode else None
        self._errors: str | None = options.get("encoding_errors", "strict") if decode else None

    async def run(self, batch: Batch, *, replies: bool = False) -> list[Any]:
        """Each command's reply when ``replies``; otherwise an empty list."""
        if not batch.commands:
            return []
        if batch.conditional or len(batch.commands) > SCRIPT_FROM:
            payload = _packb(batch.commands)  # strings as UTF-8 str, tuples as arrays
            out = await self._script(payload, replies)
            return list(out) if replies else []
        answered = await self._transaction(batch.commands)
        return answered if replies else []

    async def read(self, batch: Batch) -> list[Any]:
        """Each command's reply, for a batch that only reads: pipelined without a transaction,
        which would make Redis queue every command before running it. No write means no half
        batch for anyone to see; each read still sees a whole write."""
        if batch.conditional:
            return await self.run(batch, replies=True)
        if not batch.commands:
            return []
        return _checked(await self._exchange(b"".join(map(_pack, batch.commands)), len(batch.commands)))

    async def call(self, *command: str) -> Any:
        """One command; its reply as hiredis gives it (a RESP3 map as a dict). For replies that
        redis-py would turn into many small objects on the way, such as a batch read from a stream."""
        return _checked(await self._exchange(_pack(command), 1))[0]

    async def _script(self, payload: bytes, replies: bool) -> Any:
        call = b"".join((_EVALSHA_HEAD, str(len(payload)).encode(), b"\r\n", payload, _WITH_REPLIES[replies]))
        (reply,) = await self._exchange(call, 1)
        if isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT"):
            # A Redis that has not seen the script (or restarted since): nothing ran, so load it
            # and call again.
            _checked(await self._exchange(_pack(("SCRIPT", "LOAD", RUN)), 1))
            (reply,) = await self._exchange(call, 1)
        return _checked([reply])[0]

    async def _transaction(self, commands: list[tuple[str, ...]]) -> list[Any]:
        replies = await self._exchange(b"".join([MULTI, *map(_pack, commands), EXEC]), len(commands) + 2)
        _checked(replies)  # "QUEUED" per command, then EXEC's answer: an abort is an error here
        return _checked(list(replies[-1]))

    async def _exchange(self, payload: bytes, count: int) -> list[Any]:
        """Send ``payload`` on a connection of the pool and read ``count`` replies."""
        connection: Any = await self._pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_packed_command(payload, check_health=False)
            # The connection's own parser is left alone: it holds nothing between commands, and
            # one reader for the whole block costs a fraction of a parser call per reply.
            stream: asyncio.StreamReader = connection._reader
            return await self._read(stream, count)
        except BaseException:
            # Cancelled or cut off mid-block: the rest of its replies must not reach the next user.
            await connection.disconnect(nowait=True)
            raise
        finally:
            await self._pool.release(connection)

    async def _read(self, stream: asyncio.StreamReader, count: int) -> list[Any]:
        reader = hiredis.Reader(
            replyError=ResponseError, notEnoughData=_PENDING, encoding=self._encoding, errors=self._errors
        )
        replies: list[Any] = []
        while len(replies) < count:
            data = await stream.read(READ_SIZE)
            if not data:
                raise RedisConnectionError("Redis closed the connection in the middle of a batch")
            reader.feed(data)
            while (reply := reader.gets()) is not _PENDING:
                replies.append(reply)
        return replies


def _checked(replies: list[Any]) -> list[Any]:
    """The replies, unless one is an error reply: then it is raised (the first of them)."""
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies

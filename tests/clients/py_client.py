"""Drives the official Python MCP client (`mcp` 2.x) against a running SMCP
server, in legacy, auto and pinned 2026-07-28 modes:

    SMCP_API_KEY=smcp_... python py_client.py <base-url>   (base: http://127.0.0.1:PORT/t/dev/s)

Prints one line per mode and exits non-zero on failure.
"""

import asyncio
import sys
import traceback

import os

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def connect(url: str, mode: str) -> Client:
    """A client sending the API key from SMCP_API_KEY."""
    headers = {"Authorization": f"Bearer {os.environ['SMCP_API_KEY']}"}
    transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    return Client(transport, mode=mode)


def text(result):
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def check(base: str, mode: str) -> None:
    async with connect(f"{base}/calc/mcp", mode) as calc:
        tools = await calc.list_tools()
        assert any(t.name == "add" for t in tools.tools), "calc lists add"
        result = await calc.call_tool("add", {"a": 2, "b": 40})
        assert result.structured_content == {"sum": 42.0}, result
        assert text(await calc.call_tool("echo", {"text": "héllo"})) == "héllo"
        about = await calc.read_resource("calc://about")
        assert about.contents[0].text == "calc: a pure-compute SMCP test server."
        prompt = await calc.get_prompt("explain", {"topic": "fibonacci"})
        assert prompt.messages[0].content.text == "Explain fibonacci in simple terms."
    async with connect(f"{base}/notes/mcp", mode) as notes:
        await notes.call_tool("put_note", {"id": f"py-{mode}", "text": f"from python {mode}"})
        got = await notes.call_tool("get_note", {"id": f"py-{mode}"})
        assert text(got) == f"from python {mode}", got


async def main(base: str) -> int:
    failed = 0
    modes = ["legacy", "auto", "2026-07-28"]
    for mode in modes:
        try:
            await check(base, mode)
            print(f"ok python-{mode}")
        except Exception:  # report every mode, then fail
            failed += 1
            print(f"FAILED python-{mode}:\n{traceback.format_exc()}")
    print(f"{len(modes) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))

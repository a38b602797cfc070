"""{{name}}: an MCP server for SMCP in Python, built by componentize-py
against the smallest world of wit/ with what it uses: tool-server imports
only the capabilities every server has.
"""
import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types
from wit_world.imports.types import (
    CallResult, ContentBlock_Text, ResourcePage, ServerError_NotFound, Tool, ToolOutcome_Complete,
)

PAIR = json.dumps({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]})


def answer(text, structured=None, is_error=False):
    """A tool's answer; `is_error` results are errors the model reads."""
    return ToolOutcome_Complete(CallResult([ContentBlock_Text(text)], structured and json.dumps(structured), is_error))


class Server(exports.Server):
    def list_tools(self):
        return [Tool("divide", None, "Divides a by b.", PAIR, None, None)]

    def call_tool(self, name, arguments, responses, state):
        if name != "divide":
            raise Err(ServerError_NotFound(f"no tool `{name}`"))
        args = json.loads(arguments)
        if args["b"] == 0:
            return answer("division by zero", is_error=True)
        return answer(str(args["a"] / args["b"]), {"quotient": args["a"] / args["b"]})

    def list_resources(self):
        return []

    def task_tools(self):
        return []

    def list_resources_page(self, cursor):
        return ResourcePage([], None)

    def list_resource_templates(self):
        return []

    def read_resource(self, uri):
        raise Err(ServerError_NotFound(f"no resource `{uri}`"))

    def list_prompts(self):
        return []

    def get_prompt(self, name, arguments, responses, state):
        raise Err(ServerError_NotFound(f"no prompt `{name}`"))

    def complete(self, request):
        return types.CompletionResult([], None, False)

"""calc-py: the Python twin of guests/calc's arithmetic tools.

Built against the tool-server world: it imports only the capabilities every
server has, so it needs no grant.
smcp-world: tool-server
"""
import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types
from wit_world.imports.types import (
    CallResult, ContentBlock_Text, ResourcePage, ServerError_NotFound, Tool, ToolOutcome_Complete,
)

PAIR = json.dumps({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]})
SUM = json.dumps({"type": "object", "properties": {"sum": {"type": "number"}}, "required": ["sum"]})


def complete(text, structured=None, is_error=False):
    return ToolOutcome_Complete(CallResult([ContentBlock_Text(text)], structured and json.dumps(structured), is_error))


class Server(exports.Server):
    def list_tools(self):
        return [
            Tool("add", None, "Adds a and b.", PAIR, SUM, None),
            Tool("divide", None, "Divides a by b; fails on b = 0.", PAIR, None, None),
        ]

    def call_tool(self, name, arguments, responses, state):
        args = json.loads(arguments)
        for field in ("a", "b"):
            if not isinstance(args.get(field), (int, float)) or isinstance(args.get(field), bool):
                # A tool error, which the model reads and can correct.
                return complete(f"invalid arguments: `{field}` must be a number", is_error=True)
        a, b = float(args["a"]), float(args["b"])
        if name == "add":
            return complete(str(a + b), {"sum": a + b})
        if name == "divide":
            if b == 0:
                return complete("division by zero", is_error=True)
            return complete(str(a / b))
        raise Err(ServerError_NotFound(f"no tool `{name}`"))

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

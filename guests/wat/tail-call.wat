;; tail-call: a core module of the mcp-server world, valid WebAssembly,
;; whose `complete` makes a tail call (`return_call`). The host's engine
;; leaves tail calls out, so the module does not compile: `smcp inspect`
;; must say so (compiling as deploy does), and deploy must refuse it.
(module
  (memory (export "memory") 1)
  ;; Every answer is an empty list or an ok of zeros, at 0x100.
  (data (i32.const 0x100) "\08\00\00\00\00\00\00\00")

  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0x1000))
  (func $answer (result i32) (i32.const 0x100))

  (func (export "smcp:mcp/server@0.1.0#list-tools") (result i32) (call $answer))
  (func (export "smcp:mcp/server@0.1.0#call-tool")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (call $answer))
  (func (export "smcp:mcp/server@0.1.0#list-resources") (result i32) (call $answer))
  (func (export "smcp:mcp/server@0.1.0#list-resource-templates") (result i32) (call $answer))
  (func (export "smcp:mcp/server@0.1.0#read-resource") (param i32 i32) (result i32) (call $answer))
  (func (export "smcp:mcp/server@0.1.0#list-prompts") (result i32) (call $answer))
  (func (export "smcp:mcp/server@0.1.0#get-prompt") (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (call $answer))
  (func (export "smcp:mcp/server@0.1.0#complete")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (return_call $answer))
)

;; lying-realloc: a core module of the mcp-server world whose cabi_realloc
;; lies once the host relies on it. The host must catch both lies before
;; it writes anything.
;;
;; Each call runs in a fresh instance, so the counter starts at 0 per call:
;; - the 1st allocation of an instance is honest;
;; - later ones with align = 1 (string bytes) return a pointer whose range
;;   ends one byte past the end of memory (memory size - size + 1);
;; - later ones with align > 1 (lists of records) return an allocated
;;   pointer plus 1, so it is misaligned.
;; So call-tool("x", "{}") gets a bad pointer for its arguments string (2nd
;; allocation), and get-prompt("p", [("a", "b")]) a misaligned one for its
;; argument list. list-tools needs no allocation and works: one tool `echo`.
;; Exports that run anyway answer honestly (call-tool: text "ok").
(module
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 0x10000))
  (global $calls (mut i32) (i32.const 0))

  ;; Strings.
  (data (i32.const 0x300) "echo")
  (data (i32.const 0x310) "{\22type\22:\22object\22}") ;; 17 bytes
  (data (i32.const 0x330) "ok")
  (data (i32.const 0x340) "lying-realloc has nothing here")  ;; 30 bytes

  ;; list-tools return area at 0x100: list<tool> = [0x200, 1].
  (data (i32.const 0x100) "\00\02\00\00\01\00\00\00")
  ;; The tool at 0x200 (76 bytes): name, title none, description none,
  ;; input-schema, output-schema none, annotations none.
  (data (i32.const 0x200) "\00\03\00\00\04\00\00\00")
  (data (i32.const 0x220) "\10\03\00\00\11\00\00\00")

  ;; Honest bump allocation of `size` bytes aligned to `align`.
  (func $bump (param $align i32) (param $size i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
                           (i32.const 65535))
                  (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $n i32)
    (local.set $n (global.get $calls))
    (global.set $calls (i32.add (local.get $n) (i32.const 1)))
    (if (i32.eqz (local.get $n))
      (then (return (call $bump (local.get $align) (local.get $size)))))
    (if (i32.eq (local.get $align) (i32.const 1))
      (then
        (return
          (i32.add
            (i32.sub (i32.mul (memory.size) (i32.const 65536)) (local.get $size))
            (i32.const 1)))))
    (i32.add (call $bump (local.get $align) (i32.add (local.get $size) (i32.const 1))) (i32.const 1)))

  ;; Writes `err(not-found(<0x340, 30>))` at `ra`, for results whose ok
  ;; payload starts at offset 4.
  (func $not_found (param $ra i32) (result i32)
    (i32.store8 (local.get $ra) (i32.const 1))
    (i32.store8 offset=4 (local.get $ra) (i32.const 0))
    (i32.store offset=8 (local.get $ra) (i32.const 0x340))
    (i32.store offset=12 (local.get $ra) (i32.const 30))
    (local.get $ra))

  ;; Writes an empty list at `ra`; its pointer 8 suits any element alignment.
  (func $empty (param $ra i32) (result i32)
    (i32.store (local.get $ra) (i32.const 8))
    (i32.store offset=4 (local.get $ra) (i32.const 0))
    (local.get $ra))

  (func (export "smcp:mcp/server@0.1.0#list-tools") (result i32)
    (i32.const 0x100))

  (func (export "smcp:mcp/server@0.1.0#call-tool")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    ;; ok(complete({content: [text("ok")], structured-content: none, is-error: false}))
    (i32.store (i32.const 0x280) (i32.const 0))         ;; content-block: text
    (i32.store (i32.const 0x284) (i32.const 0x330))
    (i32.store (i32.const 0x288) (i32.const 2))
    (i32.store8 (i32.const 0x140) (i32.const 0))        ;; result: ok
    (i32.store8 (i32.const 0x144) (i32.const 0))        ;; tool-outcome: complete
    (i32.store (i32.const 0x148) (i32.const 0x280))     ;; content ptr
    (i32.store (i32.const 0x14c) (i32.const 1))         ;; content len
    (i32.store8 (i32.const 0x150) (i32.const 0))        ;; structured-content: none
    (i32.store8 (i32.const 0x15c) (i32.const 0))        ;; is-error: false
    (i32.const 0x140))

  (func (export "smcp:mcp/server@0.1.0#list-resources") (result i32)
    (call $empty (i32.const 0x180)))

  (func (export "smcp:mcp/server@0.1.0#list-resource-templates") (result i32)
    (call $empty (i32.const 0x188)))

  (func (export "smcp:mcp/server@0.1.0#read-resource") (param i32 i32) (result i32)
    (call $not_found (i32.const 0x190)))

  (func (export "smcp:mcp/server@0.1.0#list-prompts") (result i32)
    (call $empty (i32.const 0x1a0)))

  (func (export "smcp:mcp/server@0.1.0#get-prompt") (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $not_found (i32.const 0x1b0)))

  (func (export "smcp:mcp/server@0.1.0#complete")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $not_found (i32.const 0x1d0)))

  ;; Nothing to free: every instance is thrown away after one call.
  (func (export "cabi_post_smcp:mcp/server@0.1.0#list-tools") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#call-tool") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#list-resources") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#list-resource-templates") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#read-resource") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#list-prompts") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#get-prompt") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#complete") (param i32))
)

;; bad-utf8: a core module of the mcp-server world that returns invalid
;; UTF-8 wherever a string is due; its cabi_realloc is honest. The host
;; must refuse each result (no string may reach a client unchecked):
;; - list-tools:    one tool whose name is "bad" 0xFF (a byte never valid);
;;                  its input schema is fine: {"type":"object"}
;; - call-tool:     ok(complete) with one text block C3 28 (a lead byte
;;                  followed by a non-continuation byte), whatever the call
;; - list-prompts:  one prompt named C0 AF (an overlong encoding of "/")
;; - read-resource: ok, one text resource with uri "bad://utf8" whose text
;;                  is ED A0 80 (an encoded UTF-16 surrogate)
;; - get-prompt:    err(not-found) with message "no prompt " E2 82 (a
;;                  truncated 3-byte sequence)
;; - complete:      ok, values [80] (a lone continuation byte)
;; - list-resources, list-resource-templates: empty lists.
(module
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 0x10000))

  ;; Strings.
  (data (i32.const 0x300) "bad\ff")                       ;; 4 bytes
  (data (i32.const 0x308) "\c3\28")                       ;; 2 bytes
  (data (i32.const 0x310) "{\22type\22:\22object\22}")    ;; 17 bytes
  (data (i32.const 0x330) "\c0\af")                       ;; 2 bytes
  (data (i32.const 0x338) "bad://utf8")                   ;; 10 bytes
  (data (i32.const 0x348) "\ed\a0\80")                    ;; 3 bytes
  (data (i32.const 0x350) "no prompt \e2\82")             ;; 12 bytes
  (data (i32.const 0x360) "\80")                          ;; 1 byte

  ;; list-tools: return area 0x100 = [0x200, 1]; the tool at 0x200 has
  ;; name <0x300, 4> and input-schema <0x310, 17>, every option none.
  (data (i32.const 0x100) "\00\02\00\00\01\00\00\00")
  (data (i32.const 0x200) "\00\03\00\00\04\00\00\00")
  (data (i32.const 0x220) "\10\03\00\00\11\00\00\00")

  ;; call-tool: return area 0x140 = ok(complete({content: [0x280, 1],
  ;; structured-content: none, is-error: false})); block 0x280 = text <0x308, 2>.
  (data (i32.const 0x140) "\00\00\00\00\00\00\00\00\80\02\00\00\01\00\00\00")
  (data (i32.const 0x280) "\00\00\00\00\08\03\00\00\02\00\00\00")

  ;; list-prompts: return area 0x180 = [0x400, 1]; the prompt at 0x400
  ;; (40 bytes) has name <0x330, 2>, no title or description and an empty
  ;; argument list <4, 0>.
  (data (i32.const 0x180) "\00\04\00\00\01\00\00\00")
  (data (i32.const 0x400) "\30\03\00\00\02\00\00\00")
  (data (i32.const 0x420) "\04\00\00\00\00\00\00\00")

  ;; read-resource: return area 0x1a0 = ok([0x440, 1]); the contents at
  ;; 0x440 (32 bytes): uri <0x338, 10>, mime-type none, body text <0x348, 3>.
  (data (i32.const 0x1a0) "\00\00\00\00\40\04\00\00\01\00\00\00")
  (data (i32.const 0x440) "\38\03\00\00\0a\00\00\00")
  (data (i32.const 0x454) "\00\00\00\00\48\03\00\00\03\00\00\00")

  ;; get-prompt: return area 0x1c0 = err(not-found(<0x350, 12>)).
  (data (i32.const 0x1c0) "\01\00\00\00\00\00\00\00\50\03\00\00\0c\00\00\00")

  ;; complete: return area 0x1e0 = ok({values: [0x480, 1], total: none,
  ;; has-more: false}); the list at 0x480 = [<0x360, 1>].
  (data (i32.const 0x1e0) "\00\00\00\00\80\04\00\00\01\00\00\00")
  (data (i32.const 0x480) "\60\03\00\00\01\00\00\00")

  ;; list-resources / list-resource-templates: empty lists <8, 0> (8 suits
  ;; any element alignment).
  (data (i32.const 0x1f0) "\08\00\00\00\00\00\00\00")

  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
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

  (func (export "smcp:mcp/server@0.1.0#list-tools") (result i32) (i32.const 0x100))
  (func (export "smcp:mcp/server@0.1.0#call-tool")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0x140))
  (func (export "smcp:mcp/server@0.1.0#list-resources") (result i32) (i32.const 0x1f0))
  (func (export "smcp:mcp/server@0.1.0#list-resource-templates") (result i32) (i32.const 0x1f0))
  (func (export "smcp:mcp/server@0.1.0#read-resource") (param i32 i32) (result i32) (i32.const 0x1a0))
  (func (export "smcp:mcp/server@0.1.0#list-prompts") (result i32) (i32.const 0x180))
  (func (export "smcp:mcp/server@0.1.0#get-prompt") (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0x1c0))
  (func (export "smcp:mcp/server@0.1.0#complete")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0x1e0))

  (func (export "cabi_post_smcp:mcp/server@0.1.0#list-tools") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#call-tool") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#list-resources") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#list-resource-templates") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#read-resource") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#list-prompts") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#get-prompt") (param i32))
  (func (export "cabi_post_smcp:mcp/server@0.1.0#complete") (param i32))
)

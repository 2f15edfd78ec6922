;; rsync weak checksum sums (sync-semantics §6.3) over linear memory, 16 bytes per step with SIMD.
;; weak(ptr, len) returns (s1 mod 2^16) | (s2 mod 2^16) << 16 for the bytes [ptr, ptr + len), where
;; s1 = Σ x[i] and s2 = Σ (len − i)·x[i]; the caller adds the (B − len)·s1 term of a short block.
;; Per 16-byte chunk y[0..15] appended to (s1, s2): s2 += 16·s1 + Σ (16 − j)·y[j], s1 += Σ y[j].
;; The lanes keep partial sums; i32 wrap-around is harmless because only the low 16 bits count.
;; Regenerate src/sync/rsync/weak-hash-wasm.ts with `npx tsx scripts/gen-wasm.ts` after an edit.
(module
  (memory (export "memory") 1)
  (func $hsum (param $v v128) (result i32)
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))
  (func (export "weak") (param $ptr i32) (param $len i32) (result i32)
    (local $stop i32) (local $vectorEnd i32)
    (local $vs1 v128) (local $vp v128) (local $vs2 v128)
    (local $lo v128) (local $hi v128)
    (local $s1 i32) (local $s2 i32)
    (local.set $stop (i32.add (local.get $ptr) (local.get $len)))
    (local.set $vectorEnd (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -16))))
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $vectorEnd)))
        (local.set $lo (i16x8.extend_low_i8x16_u (v128.load (local.get $ptr))))
        (local.set $hi (i16x8.extend_high_i8x16_u (v128.load (local.get $ptr))))
        (local.set $vp (i32x4.add (local.get $vp) (local.get $vs1)))
        (local.set $vs1 (i32x4.add (local.get $vs1)
          (i32x4.extadd_pairwise_i16x8_u (i16x8.add (local.get $lo) (local.get $hi)))))
        (local.set $vs2 (i32x4.add (local.get $vs2)
          (i32x4.add
            (i32x4.dot_i16x8_s (local.get $lo) (v128.const i16x8 16 15 14 13 12 11 10 9))
            (i32x4.dot_i16x8_s (local.get $hi) (v128.const i16x8 8 7 6 5 4 3 2 1)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br $chunks)))
    (local.set $s1 (call $hsum (local.get $vs1)))
    (local.set $s2 (i32.add (i32.shl (call $hsum (local.get $vp)) (i32.const 4)) (call $hsum (local.get $vs2))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $ptr) (local.get $stop)))
        (local.set $s1 (i32.add (local.get $s1) (i32.load8_u (local.get $ptr))))
        (local.set $s2 (i32.add (local.get $s2) (local.get $s1)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $tail)))
    (i32.or (i32.and (local.get $s1) (i32.const 0xffff)) (i32.shl (local.get $s2) (i32.const 16)))))

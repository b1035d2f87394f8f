/*
 * strands: context switch for AArch64, AAPCS64 (Linux and the other ELF
 * systems, macOS / iOS via the Mach-O spellings in common.h).
 *
 * Apple silicon (the Mach-O flavour): the same code and frame. Apple's
 * arm64 ABI ("Writing ARM64 code for Apple platforms") follows AAPCS64 for
 * the registers saved here -- x19-x28, x29, x30, d8-d15 callee-saved -- and
 * differs where it matters to us in one point only: x18 is reserved to the
 * platform and must never be written (the kernel may clobber it at any
 * time, and using it is an ABI violation). Nothing below touches x18: the
 * only scratch registers are x9 and x10 (CI disassembles the Mach-O
 * object and fails if x18 appears).
 *
 * A strand's saved context is nothing but its stack pointer: everything the
 * ABI asks a callee to preserve is stored onto the strand's own stack, and the
 * stack pointer is written to a slot the caller provides. Caller-saved
 * registers need no saving at all: `strands_switch` is an ordinary function
 * call to the compiler, which has already spilled whatever it still needs.
 *
 * What is saved, and why exactly this ("Procedure Call Standard for the Arm
 * 64-bit Architecture", AAPCS64, section "Machine Registers"):
 *   x19-x28        callee-saved general registers ("General-purpose
 *                  Registers": r19-r29 and SP must be preserved)
 *   x29 (fp)       the frame pointer, callee-saved by the same rule
 *   x30 (lr)       where strands_switch returns to; saved so that the
 *                  *other* context's return address can be loaded
 *   sp             the context itself (stored to *save_sp, not pushed)
 *   d8-d15         the low 64 bits of v8-v15 ("SIMD and Floating-Point
 *                  Registers": only the bottom 64 bits of v8-v15 need to be
 *                  preserved by a callee)
 *   FPCR           rounding mode, flush-to-zero, default-NaN, trap enables.
 *                  The AAPCS64 treats it as global state that only dedicated
 *                  support functions (fesetround & co) change, so ordinary
 *                  code may rely on it being unchanged across a call. Each
 *                  strand owns its own copy: the analogue of the MXCSR
 *                  control bits in x86_64.S.
 * Not saved: x0-x18 (arguments, results, temporaries, IP0/IP1 and the
 * platform register x18, which the platform owns and we never touch), the
 * upper 64 bits of v8-v15, v0-v7 and v16-v31, NZCV and the FPSR cumulative
 * exception flags -- all caller-saved or not preserved across a call by the
 * ABI. TPIDR_EL0 (the thread pointer) belongs to the OS thread, not to a
 * strand, exactly like %fs on x86_64. SVE: the callee-saved part of z8-z15
 * is again only d8-d15, and p0-p15 are caller-saved for ordinary (non-SVE
 * vector PCS) functions, which strands_switch is. SME is not supported:
 * strands_switch is an ordinary non-streaming function without ZA state,
 * and strands must not switch while in streaming mode or with ZA live.
 *
 * Pointer authentication: x30 is saved and restored raw, never signed. That
 * is deliberate: the modifier of paciasp/autiasp is sp, and sp on return is a
 * different stack's sp, so a sign/authenticate pair here would always fail.
 * There are no BTI landing pads and no GNU property note either, so a binary
 * linking this object is not marked BTI-enforced (the linker drops the mark).
 *
 * Stack of a SUSPENDED strand (addresses grow upwards, the saved stack
 * pointer points at the lowest word; 176 bytes = 11 x 16, so sp stays 16-byte
 * aligned, which the architecture enforces for sp-based accesses):
 *
 *              +------------------------+  <- higher addresses
 *              |  ... strand frames ... |
 *              +------------------------+  <- CFA = sp+176 (caller's sp)
 *      sp+168  | x30 (lr)               |  where strands_switch returns to
 *      sp+160  | x29 (fp)               |
 *      sp+152  | x28                    |
 *      sp+144  | x27                    |
 *      sp+136  | x26                    |
 *      sp+128  | x25                    |
 *      sp+120  | x24                    |
 *      sp+112  | x23                    |
 *      sp+104  | x22                    |
 *      sp+96   | x21                    |
 *      sp+88   | x20                    |
 *      sp+80   | x19                    |
 *      sp+72   | d15                    |
 *      sp+64   | d14                    |
 *      sp+56   | d13                    |
 *      sp+48   | d12                    |
 *      sp+40   | d11                    |
 *      sp+32   | d10                    |
 *      sp+24   | d9                     |
 *      sp+16   | d8                     |
 *      sp+8    | pad (written as 0)     |
 *      sp+0    | FPCR (8)               |  <- saved stack pointer
 *              +------------------------+
 *
 * Stack of a FRESH strand, as written by `strands_init_stack`: the same
 * frame, so that the first switch into it "returns" into the trampoline with
 * the argument in x19 and the entry function in x20.
 *
 *      top     +------------------------+  16-byte aligned (rounded down)
 *      top-8   | x30 = trampoline       |  &strands_trampoline: taken by `ret`
 *      top-16  | x29 = 0                |  no caller frame: ends fp chains
 *      top-24  | x28 = 0                |
 *        ...   |  x27 .. x21 = 0        |
 *      top-88  | x20 = entry            |
 *      top-96  | x19 = arg              |
 *      top-104 | d15 = 0                |
 *        ...   |  d14 .. d9 = 0         |
 *      top-160 | d8  = 0                |
 *      top-168 | pad = 0                |
 *      top-176 | FPCR = 0               |  the default mode (see below)
 *              +------------------------+  <- initial stack pointer (top-176)
 *
 * FPCR = 0 is the mode a new Linux process starts in: round to nearest,
 * no flush-to-zero, no default-NaN, IEEE half precision, all traps off.
 * After the restore, `add sp, sp, #176` leaves sp == top, so the trampoline
 * (and the entry function it calls) starts on a 16-byte aligned, empty stack.
 *
 * A RUNNING strand owns sp; its stack holds only its own frames, the
 * outermost being `strands_trampoline`, whose CFI declares the return address
 * (x30) undefined. That is how unwinders (libgcc's, the `backtrace` crate used
 * by std, gdb) learn that the chain ends there instead of walking on into the
 * guard page below the neighbouring stack; x29 = 0 stops frame-pointer
 * walkers (perf, Apple's backtracer) at the same place.
 *
 *      top     +------------------------+  <- sp at the trampoline, CFA there
 *              | entry's frame ...      |
 *              |   ... deeper frames    |
 *              +------------------------+  <- sp
 *
 * Every routine carries CFI. In `strands_switch` the CFA is described
 * relative to sp throughout (CFA = sp + 176 from the first instruction after
 * the `sub` to the `add`): the frame on the new stack has exactly the same
 * layout as the one on the old, so the rules stay true across `mov sp, x1`.
 */

#include "common.h"

/* Assembler-local labels: `.L` on ELF, `L` on Mach-O. */
#if defined(__APPLE__)
#define LOCAL(name) L##name
#else
#define LOCAL(name) .L##name
#endif

/* Size of the saved frame drawn above: 21 eight-byte slots + 1 pad. */
#define FRAME 176

/*
 * void strands_switch(void **save_sp, void *load_sp);
 *
 * Saves the current context on the current stack, stores the stack pointer
 * to *save_sp (x0), then resumes the context whose stack pointer is load_sp
 * (x1). Returns when some other context switches back to *save_sp.
 * Clobbers only x9 and x10 (temporaries) besides the switched state.
 */
BEGIN_FUNC(strands_switch)
    .cfi_startproc
    sub     sp, sp, #FRAME          /* open the frame: sp stays 16-aligned */
    .cfi_def_cfa_offset FRAME       /* CFA = sp + 176, on either stack */
    stp     x29, x30, [sp, #160]    /* frame pointer and return address */
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    stp     x27, x28, [sp, #144]
    .cfi_offset x27, -32
    .cfi_offset x28, -24
    stp     x25, x26, [sp, #128]
    .cfi_offset x25, -48
    .cfi_offset x26, -40
    stp     x23, x24, [sp, #112]
    .cfi_offset x23, -64
    .cfi_offset x24, -56
    stp     x21, x22, [sp, #96]
    .cfi_offset x21, -80
    .cfi_offset x22, -72
    stp     x19, x20, [sp, #80]
    .cfi_offset x19, -96
    .cfi_offset x20, -88
    stp     d14, d15, [sp, #64]     /* low halves of v8-v15 only */
    .cfi_offset d14, -112
    .cfi_offset d15, -104
    stp     d12, d13, [sp, #48]
    .cfi_offset d12, -128
    .cfi_offset d13, -120
    stp     d10, d11, [sp, #32]
    .cfi_offset d10, -144
    .cfi_offset d11, -136
    stp     d8, d9, [sp, #16]
    .cfi_offset d8, -160
    .cfi_offset d9, -152
    mrs     x9, fpcr                /* x9 = our FPCR, kept for the compare */
    str     x9, [sp]                /* slot 0 (the pad at sp+8 is unused) */

    mov     x10, sp                 /* sp cannot be the data operand of str */
    str     x10, [x0]               /* publish the suspended context */
    mov     sp, x1                  /* adopt the other stack: same frame layout */

    /*
     * FPCR: a write to it is not free on every core (some implementations
     * treat it as a serialising system-register write that drains the FP
     * pipeline), and almost always both sides run with the same FPCR. So
     * write it only when the incoming value differs from the one we are
     * leaving; when they are equal the register already holds the right
     * value, so skipping the write is exact, not an approximation.
     */
    ldr     x10, [sp]               /* incoming context's FPCR */
    cmp     x9, x10                 /* same as the current one? */
    b.eq    1f                      /* yes: nothing to write */
    msr     fpcr, x10               /* no: install the incoming mode */
1:
    ldp     d8, d9, [sp, #16]
    .cfi_restore d8
    .cfi_restore d9
    ldp     d10, d11, [sp, #32]
    .cfi_restore d10
    .cfi_restore d11
    ldp     d12, d13, [sp, #48]
    .cfi_restore d12
    .cfi_restore d13
    ldp     d14, d15, [sp, #64]
    .cfi_restore d14
    .cfi_restore d15
    ldp     x19, x20, [sp, #80]
    .cfi_restore x19
    .cfi_restore x20
    ldp     x21, x22, [sp, #96]
    .cfi_restore x21
    .cfi_restore x22
    ldp     x23, x24, [sp, #112]
    .cfi_restore x23
    .cfi_restore x24
    ldp     x25, x26, [sp, #128]
    .cfi_restore x25
    .cfi_restore x26
    ldp     x27, x28, [sp, #144]
    .cfi_restore x27
    .cfi_restore x28
    ldp     x29, x30, [sp, #160]    /* x30: where the incoming context resumes */
    .cfi_restore x29
    .cfi_restore x30
    add     sp, sp, #FRAME          /* pop the frame: sp = incoming caller's sp */
    .cfi_def_cfa_offset 0
    /*
     * A plain `ret`: it keeps the return-address predictor aligned with the
     * stack when the incoming context resumes through a call chain like the
     * outgoing one's, as strands yielding through the runtime do (see the
     * measurements in x86_64.S).
     */
    ret                             /* to x30: its caller, or the trampoline */
    .cfi_endproc
END_FUNC(strands_switch)

/*
 * void *strands_init_stack(void *top, void (*entry)(void *), void *arg);
 *
 * Writes the fresh frame drawn above below `top` (x0, rounded down to 16
 * bytes) and returns the stack pointer to pass to strands_switch. Touches
 * only the 176 bytes below the rounded top. A leaf that never moves sp: it
 * needs no CFI beyond its bounds.
 */
BEGIN_FUNC(strands_init_stack)
    .cfi_startproc
    and     x9, x0, #~15            /* x9 = top rounded down to 16 */
    sub     x0, x9, #FRAME          /* x0 = the new context's stack pointer */
    adr     x10, LOCAL(trampoline)  /* pc-relative: no relocation, PIC-safe */
    stp     xzr, x10, [x0, #160]    /* x29 = 0, x30 = &strands_trampoline */
    stp     xzr, xzr, [x0, #144]    /* x27, x28 */
    stp     xzr, xzr, [x0, #128]    /* x25, x26 */
    stp     xzr, xzr, [x0, #112]    /* x23, x24 */
    stp     xzr, xzr, [x0, #96]     /* x21, x22 */
    stp     x2, x1, [x0, #80]       /* x19 = arg, x20 = entry */
    stp     xzr, xzr, [x0, #64]     /* d14, d15 */
    stp     xzr, xzr, [x0, #48]     /* d12, d13 */
    stp     xzr, xzr, [x0, #32]     /* d10, d11 */
    stp     xzr, xzr, [x0, #16]     /* d8, d9 */
    stp     xzr, xzr, [x0, #0]      /* FPCR = 0 (default mode), pad */
    ret                             /* x0 = initial stack pointer */
    .cfi_endproc
END_FUNC(strands_init_stack)

/*
 * The first frame of every strand. Entered by strands_switch's `ret` with
 * sp = top (16-byte aligned), x19 = arg, x20 = entry, x29 = 0, FPCR = 0.
 *
 * `.cfi_undefined x30` marks this as the outermost frame: unwinding stops
 * here. x29 is zero (and zeroed again, so the invariant does not depend on
 * the frame contents) so frame-pointer walkers stop too. The entry function
 * never returns (it switches away for the last time); if it ever did, `brk`
 * traps instead of running off into whatever lies above the stack top.
 */
BEGIN_FUNC(strands_trampoline)
LOCAL(trampoline):
    .cfi_startproc
    .cfi_undefined x30              /* no return address: outermost frame */
    .cfi_def_cfa sp, 0              /* CFA = sp = top */
    mov     x29, xzr                /* terminate the frame-pointer chain */
    mov     x0, x19                 /* entry's only argument */
    blr     x20                     /* entry(arg); lr = the brk below */
    brk     #1                      /* entry returned: that is a bug */
    .cfi_endproc
END_FUNC(strands_trampoline)

NOTE_GNU_STACK

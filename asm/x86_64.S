/*
 * strands: context switch for x86_64, System V ABI (Linux, the BSDs, macOS).
 *
 * macOS on Intel (the Mach-O flavour) uses the same System V psABI rules for
 * the registers saved here, so the code and the frame are the same; only
 * the spellings in common.h differ (underscore prefix, .private_extern, no
 * .type/.size, no stack note). The rip-relative `lea` of the trampoline is
 * a plain X86_64_RELOC_SIGNED there.
 *
 * A strand's saved context is nothing but its stack pointer: everything the
 * ABI asks a callee to preserve is pushed onto the strand's own stack, and the
 * stack pointer is written to a slot the caller provides. Caller-saved
 * registers need no saving at all: `strands_switch` is an ordinary function
 * call to the compiler, which has already spilled whatever it still needs.
 *
 * What is saved, and why exactly this (SysV psABI, section 3.2.1 and 3.2.3):
 *   rbx, rbp, r12, r13, r14, r15  callee-saved general registers
 *   rsp                           the context itself (stored, not pushed)
 *   MXCSR control bits            "callee-saved" status: rounding mode,
 *                                 exception masks, FTZ/DAZ
 *   x87 control word              likewise: precision and rounding control
 * Not saved: rax, rcx, rdx, rsi, rdi, r8-r11, xmm0-15, the MXCSR status flags
 * and the x87 status word -- all caller-saved or scratch. The direction flag
 * is clear at every call boundary by the ABI, so it needs nothing either.
 *
 * Stack of a SUSPENDED strand (addresses grow upwards, the saved stack
 * pointer points at the lowest word):
 *
 *              +------------------------+  <- higher addresses
 *              |  ... strand frames ... |
 *              +------------------------+
 *      sp+56   | return address         |  pushed by the `call strands_switch`
 *      sp+48   | rbp                    |
 *      sp+40   | rbx                    |
 *      sp+32   | r12                    |
 *      sp+24   | r13                    |
 *      sp+16   | r14                    |
 *      sp+8    | r15                    |
 *      sp+4    | x87 CW (2) | pad (2)   |
 *      sp+0    | MXCSR (4)              |  <- saved stack pointer
 *              +------------------------+
 *
 * Stack of a FRESH strand, as written by `strands_init_stack`: the same
 * frame, so that the first switch into it "returns" into the trampoline with
 * the entry function in r12 and its argument in rbx.
 *
 *      top     +------------------------+  16-byte aligned
 *      top-8   | &strands_trampoline    |  taken by `ret`: rsp = top after it
 *      top-16  | rbp = 0                |  no caller frame: ends frame chains
 *      top-24  | rbx = arg              |
 *      top-32  | r12 = entry            |
 *      top-40  | r13 = 0                |
 *      top-48  | r14 = 0                |
 *      top-56  | r15 = 0                |
 *      top-60  | x87 CW = 0x037f        |  the power-on defaults a new thread
 *      top-64  | MXCSR  = 0x1f80        |  also starts with
 *              +------------------------+  <- initial stack pointer (top-64)
 *
 * A RUNNING strand owns rsp; its stack holds only its own frames, the
 * outermost being `strands_trampoline`, whose CFI declares the return address
 * undefined. That is how unwinders (libgcc's, the `backtrace` crate used by
 * std, gdb) learn that the chain ends there instead of walking on into the
 * guard page below the neighbouring stack.
 *
 * Every routine carries CFI. In `strands_switch` the CFA is described
 * relative to rsp throughout: the frame on the new stack has exactly the same
 * layout as the one on the old, so the rules stay true across `mov rsp, rsi`.
 */

#include "common.h"

    .intel_syntax noprefix

/*
 * void strands_switch(void **save_sp, void *load_sp);
 *
 * Saves the current context on the current stack, stores the stack pointer
 * to *save_sp (rdi), then resumes the context whose stack pointer is load_sp
 * (rsi). Returns when some other context switches back to *save_sp.
 */
BEGIN_FUNC(strands_switch)
    .cfi_startproc
    push    rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbp, 0
    push    rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbx, 0
    push    r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r12, 0
    push    r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r13, 0
    push    r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r14, 0
    push    r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r15, 0
    sub     rsp, 8
    .cfi_adjust_cfa_offset 8
    stmxcsr [rsp]                   /* MXCSR (control and status bits) */
    fnstcw  [rsp + 4]               /* x87 control word */

    mov     [rdi], rsp              /* publish the suspended context */
    mov     rsp, rsi                /* adopt the other stack: same frame layout */

    /*
     * Restored unconditionally. Comparing first and loading only on a
     * difference was measured slower on AMD Zen: reading back what stmxcsr
     * just stored waits for the store to retire (no store-to-load
     * forwarding from it), which costs more than ldmxcsr and fldcw do.
     */
    ldmxcsr [rsp]
    fldcw   [rsp + 4]
    add     rsp, 8
    .cfi_adjust_cfa_offset -8
    pop     r15
    .cfi_adjust_cfa_offset -8
    .cfi_restore r15
    pop     r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore r14
    pop     r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore r13
    pop     r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore r12
    pop     rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbx
    pop     rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbp
    /*
     * A plain `ret`, on purpose. The return-stack predictor holds the
     * return addresses of the *outgoing* context's call chain. When the
     * incoming context resumes through a similar chain (strands yielding
     * through the runtime all do: yield_now -> ... -> strands_switch), a
     * `ret` keeps predictor and stack aligned and only the first frame
     * where the chains differ mispredicts. Returning by `pop r11; jmp r11`
     * instead leaves the predictor one entry off, so *every* later return
     * mispredicts. Measured in benches/switch.rs, same session:
     *   jmp: raw ping-pong 4.9-5.3 ns, runtime yield 43.6-44.2 ns
     *   ret: raw ping-pong 12.3-12.6 ns, runtime yield 33.3-34.7 ns
     * The raw ping-pong (a loop that never returns on one side) favours the
     * jump; the runtime, which is what strands run on, favours `ret`.
     */
    ret
    .cfi_endproc
END_FUNC(strands_switch)

/*
 * void *strands_init_stack(void *top, void (*entry)(void *), void *arg);
 *
 * Writes the fresh frame drawn above below `top` (rdi, rounded down to 16
 * bytes) and returns the stack pointer to pass to strands_switch. Touches
 * only the 64 bytes below top. A leaf: it needs no CFI beyond its bounds.
 */
BEGIN_FUNC(strands_init_stack)
    .cfi_startproc
    and     rdi, -16
    lea     rax, [rip + SYM(strands_trampoline)]
    mov     [rdi - 8], rax          /* return address: the trampoline */
    mov     qword ptr [rdi - 16], 0 /* rbp */
    mov     [rdi - 24], rdx         /* rbx = arg */
    mov     [rdi - 32], rsi         /* r12 = entry */
    mov     qword ptr [rdi - 40], 0 /* r13 */
    mov     qword ptr [rdi - 48], 0 /* r14 */
    mov     qword ptr [rdi - 56], 0 /* r15 */
    mov     dword ptr [rdi - 60], 0x037f    /* x87 control word (+ pad) */
    mov     dword ptr [rdi - 64], 0x1f80    /* MXCSR */
    lea     rax, [rdi - 64]
    ret
    .cfi_endproc
END_FUNC(strands_init_stack)

/*
 * The first frame of every strand. Entered by strands_switch's `ret` with
 * rsp = top (16-byte aligned), r12 = entry, rbx = arg.
 *
 * `.cfi_undefined rip` marks this as the outermost frame: unwinding stops
 * here. rbp is zeroed so frame-pointer walkers stop too. The entry function
 * never returns (it switches away for the last time); if it ever did, ud2
 * traps instead of running off into whatever lies above the stack top.
 */
BEGIN_FUNC(strands_trampoline)
    .cfi_startproc
    .cfi_undefined rip
    .cfi_def_cfa rsp, 0
    xor     ebp, ebp
    mov     rdi, rbx
    call    r12
    ud2
    .cfi_endproc
END_FUNC(strands_trampoline)

NOTE_GNU_STACK

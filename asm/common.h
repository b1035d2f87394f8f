/*
 * Shared macros for the context-switch assembly (asm/x86_64.S, asm/aarch64.S).
 *
 * They hide the object-format differences so each architecture file is
 * written once, and its ELF flavour (Linux, the BSDs) and Mach-O flavour
 * (macOS on Intel and Apple silicon) are the same instructions and the
 * same CFI:
 *
 *                 ELF                          Mach-O
 *   symbol        strands_switch               _strands_switch
 *   visibility    .hidden                      .private_extern
 *   section       .text                        .text (__TEXT,__text)
 *   .type/.size   yes (debuggers, profilers)   none: Mach-O has neither
 *   stack note    .note.GNU-stack              none: no such note
 *   local label   .Lname                       Lname (aarch64.S: LOCAL)
 *   separator     ;                            %% on arm64, ; on x86_64
 *
 * build.rs picks the file by CARGO_CFG_TARGET_ARCH; the compiler it runs
 * (clang with --target=<arch>-apple-macosx for Mach-O, also from a Linux
 * host) defines __APPLE__, which picks the column here.
 *
 * CFI on Mach-O: the assembler turns the .cfi_* directives into an
 * __eh_frame FDE per routine and a __compact_unwind entry that says "DWARF"
 * (mode 0x03000000 on arm64) wherever the routine's rules do not fit a
 * compact encoding -- strands_switch (two stacks, one frame layout) and
 * the trampoline (return address undefined) -- and "frameless, no stack"
 * for the leaf strands_init_stack. Apple's unwinder reads the DWARF FDE
 * then, as libgcc's does on ELF. `.cfi_undefined` on the return-address
 * register is the standard DWARF end-of-stack mark; the zeroed frame
 * pointer stops Apple's frame-pointer backtracer at the same frame.
 * (Checked in CI with llvm-objdump --unwind-info / --dwarf=frames.)
 */
#ifndef STRANDS_ASM_COMMON_H
#define STRANDS_ASM_COMMON_H

#if defined(__APPLE__)
#define SYM(name) _##name
#define FUNC_TYPE(name)
#define FUNC_SIZE(name)
#define NOTE_GNU_STACK
#define HIDDEN(name) .private_extern SYM(name)
#else
#define SYM(name) name
#define FUNC_TYPE(name) .type SYM(name), %function
#define FUNC_SIZE(name) .size SYM(name), . - SYM(name)
/* The stack of a program that links this object must not become executable. */
#define NOTE_GNU_STACK .section .note.GNU-stack, "", %progbits
#define HIDDEN(name) .hidden SYM(name)
#endif

/*
 * Statement separator inside one-line macros: `;` everywhere except Apple's
 * arm64 assembler, which reads `;` as the start of a comment and uses `%%`.
 */
#if defined(__APPLE__) && defined(__aarch64__)
#define SEP %%
#else
#define SEP ;
#endif

/* Open a global, hidden, 16-byte aligned routine. */
#define BEGIN_FUNC(name)      \
    .text SEP                 \
    .globl SYM(name) SEP      \
    HIDDEN(name) SEP          \
    .p2align 4 SEP            \
    FUNC_TYPE(name) SEP       \
SYM(name):

#define END_FUNC(name) FUNC_SIZE(name)

#endif

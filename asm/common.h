/*
 * Shared macros for the context-switch assembly (asm/x86_64.S, asm/aarch64.S).
 *
 * They hide the object-format differences so each architecture file is
 * written once: symbol names get a leading underscore on Mach-O, and ELF
 * wants `.type` / `.size` so that debuggers, profilers and backtraces can
 * attribute addresses to the routines.
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

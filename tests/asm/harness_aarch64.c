/*
 * Stand-alone test of asm/aarch64.S, independent of the Rust crate.
 *
 * Cross-built and run under user-mode QEMU by tests/asm/run_aarch64.sh:
 *
 *   aarch64-linux-gnu-gcc -std=c11 -O2 -static -funwind-tables -I asm \
 *       tests/asm/harness_aarch64.c asm/aarch64.S -o harness_aarch64
 *   qemu-aarch64-static ./harness_aarch64 [switches]
 *
 * It checks:
 *   1. strands_init_stack: rounds top down to 16, writes only below top, and
 *      the first switch enters the entry function with its argument in x0,
 *      sp == the rounded top (so 16-byte aligned), x29 == 0, lr pointing into
 *      strands_trampoline and FPCR == 0, running on the new stack;
 *   2. unwinding from inside the strand terminates at strands_trampoline
 *      (_Unwind_Backtrace returns _URC_END_OF_STACK after a few frames);
 *   3. 1,000,000 ping-pong switches (by default) between main and the strand,
 *      where before every switch each side loads x19-x29, d8-d15 and FPCR with
 *      values unique to that side, iteration and register, and right after
 *      the switch returns reads them back, together with sp. The load /
 *      switch / read-back sequence is one assembly routine (below) because
 *      compiled C would freely reuse those registers around the call.
 * Any mismatch prints which register broke, on which side and at which
 * switch, and exits with status 1.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>

/* The routines under test (asm/aarch64.S). */
void strands_switch(void **save_sp, void *load_sp);
void *strands_init_stack(void *top, void (*entry)(void *), void *arg);
extern char strands_trampoline[];

/* ------------------------------------------------------------------------ */
/* Register slots shared by the assembly helper and the checks.             */

enum {
    SLOT_X19 = 0,    /* 0..9:   x19..x28 */
    SLOT_D8 = 10,    /* 10..17: d8..d15 */
    SLOT_FPCR = 18,
    SLOT_X29 = 19,
    NUM_CHECKED = 20, /* slots 0..19 must come back exactly as loaded */
    SLOT_SP_AFTER = 20,
    SLOT_SP_BEFORE = 21,
    NUM_SLOTS = 22,
};

static const char *const slot_name[NUM_CHECKED] = {
    "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
    "d8",  "d9",  "d10", "d11", "d12", "d13", "d14", "d15", "FPCR", "x29",
};

/*
 * void harness_fill_switch(void **save, void *load,
 *                          const uint64_t pat[NUM_SLOTS], uint64_t got[NUM_SLOTS]);
 *
 * An AAPCS64-conforming function: it preserves its own caller's callee-saved
 * registers and FPCR in a 192-byte frame, then
 *   - records sp in got[21],
 *   - loads x19-x28, d8-d15, FPCR and x29 from pat[0..19],
 *   - calls strands_switch(save, load),
 *   - immediately stores x19-x28, d8-d15, FPCR, x29 into got[0..19] and sp
 *     into got[20],
 *   - restores its caller's state and returns.
 * Frame: [sp+0] x29,x30  [sp+16..95] x19-x28  [sp+96..159] d8-d15
 *        [sp+160] caller's FPCR  [sp+168] got  [sp+176] unused.
 */
void harness_fill_switch(void **save, void *load, const uint64_t *pat, uint64_t *got);

__asm__(
    "    .text\n"
    "    .p2align 4\n"
    "    .globl harness_fill_switch\n"
    "    .type harness_fill_switch, %function\n"
    "harness_fill_switch:\n"
    "    stp  x29, x30, [sp, #-192]!\n"  /* own frame, 16-byte aligned */
    "    mov  x29, sp\n"
    "    stp  x19, x20, [sp, #16]\n"     /* caller's callee-saved state */
    "    stp  x21, x22, [sp, #32]\n"
    "    stp  x23, x24, [sp, #48]\n"
    "    stp  x25, x26, [sp, #64]\n"
    "    stp  x27, x28, [sp, #80]\n"
    "    stp  d8, d9, [sp, #96]\n"
    "    stp  d10, d11, [sp, #112]\n"
    "    stp  d12, d13, [sp, #128]\n"
    "    stp  d14, d15, [sp, #144]\n"
    "    mrs  x9, fpcr\n"
    "    stp  x9, x3, [sp, #160]\n"      /* caller's FPCR, got pointer */
    "    mov  x9, sp\n"
    "    str  x9, [x3, #168]\n"          /* got[21] = sp before the switch */
    "    ldp  x19, x20, [x2, #0]\n"      /* load this side's patterns */
    "    ldp  x21, x22, [x2, #16]\n"
    "    ldp  x23, x24, [x2, #32]\n"
    "    ldp  x25, x26, [x2, #48]\n"
    "    ldp  x27, x28, [x2, #64]\n"
    "    ldp  d8, d9, [x2, #80]\n"
    "    ldp  d10, d11, [x2, #96]\n"
    "    ldp  d12, d13, [x2, #112]\n"
    "    ldp  d14, d15, [x2, #128]\n"
    "    ldp  x9, x29, [x2, #144]\n"     /* FPCR pattern, x29 pattern */
    "    msr  fpcr, x9\n"
    "    bl   strands_switch\n"          /* x0 = save, x1 = load */
    "    ldr  x9, [sp, #168]\n"          /* got pointer (x9 is scratch) */
    "    stp  x19, x20, [x9, #0]\n"      /* read back, before anything else */
    "    stp  x21, x22, [x9, #16]\n"
    "    stp  x23, x24, [x9, #32]\n"
    "    stp  x25, x26, [x9, #48]\n"
    "    stp  x27, x28, [x9, #64]\n"
    "    stp  d8, d9, [x9, #80]\n"
    "    stp  d10, d11, [x9, #96]\n"
    "    stp  d12, d13, [x9, #112]\n"
    "    stp  d14, d15, [x9, #128]\n"
    "    mrs  x10, fpcr\n"
    "    stp  x10, x29, [x9, #144]\n"
    "    mov  x10, sp\n"
    "    str  x10, [x9, #160]\n"         /* got[20] = sp after the switch */
    "    ldr  x10, [sp, #160]\n"         /* restore the caller's state */
    "    msr  fpcr, x10\n"
    "    ldp  d14, d15, [sp, #144]\n"
    "    ldp  d12, d13, [sp, #128]\n"
    "    ldp  d10, d11, [sp, #112]\n"
    "    ldp  d8, d9, [sp, #96]\n"
    "    ldp  x27, x28, [sp, #80]\n"
    "    ldp  x25, x26, [sp, #64]\n"
    "    ldp  x23, x24, [sp, #48]\n"
    "    ldp  x21, x22, [sp, #32]\n"
    "    ldp  x19, x20, [sp, #16]\n"
    "    ldp  x29, x30, [sp], #192\n"
    "    ret\n"
    "    .size harness_fill_switch, . - harness_fill_switch\n");

/*
 * The strand's entry point as seen by strands_init_stack. It records the
 * registers the first switch delivered (sp, x29, lr, FPCR, x0) before any
 * compiled code can change them, then tail-calls harness_coroutine with x0
 * and lr untouched.
 */
uint64_t harness_entry_regs[5]; /* sp, x29, lr, FPCR, x0 */
void harness_entry_stub(void *arg);
void harness_coroutine(void *arg);

__asm__(
    "    .text\n"
    "    .p2align 4\n"
    "    .globl harness_entry_stub\n"
    "    .type harness_entry_stub, %function\n"
    "harness_entry_stub:\n"
    "    adrp x9, harness_entry_regs\n"
    "    add  x9, x9, :lo12:harness_entry_regs\n"
    "    mov  x10, sp\n"
    "    stp  x10, x29, [x9, #0]\n"
    "    mrs  x10, fpcr\n"
    "    stp  x30, x10, [x9, #16]\n"
    "    str  x0, [x9, #32]\n"
    "    b    harness_coroutine\n"
    "    .size harness_entry_stub, . - harness_entry_stub\n");

/* ------------------------------------------------------------------------ */

#define STACK_SIZE (256u * 1024u)
#define CANARY_ABOVE 64u    /* bytes above top that must stay untouched */
#define CANARY 0xa5
#define DEFAULT_SWITCHES 1000000L

/* FPCR bits used as patterns: RMode (22-23), FZ (24), DN (25). */
#define FPCR_RMODE_SHIFT 22
#define FPCR_DN (UINT64_C(1) << 25)
#define FPCR_PATTERN_BITS (UINT64_C(0xf) << 22)
#define MAIN_FIRST_FPCR (UINT64_C(3) << FPCR_RMODE_SHIFT) /* round to zero */

struct harness {
    void *main_sp;
    void *co_sp;
    unsigned char *stack_lo;
    unsigned char *stack_top; /* the rounded top */
    long rounds;              /* switches per side */
    long co_switches;
    int arg_ok;
    int done;
};

static struct harness H;

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("aarch64 harness: FAILED: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static inline uint64_t read_fpcr(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, fpcr" : "=r"(v) : : "memory");
    return v;
}

static inline void write_fpcr(uint64_t v)
{
    __asm__ volatile("msr fpcr, %0" : : "r"(v) : "memory");
}

/* splitmix64's finaliser: a cheap bijective scrambler. */
static uint64_t mix(uint64_t z)
{
    z += UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/*
 * Values unique per side, iteration and register. The FPCR pattern cycles
 * through the rounding modes and FZ, and the two sides always differ in DN,
 * so every switch really changes FPCR (exercising the `msr` path).
 */
static void make_pattern(int side, long iter, uint64_t *pat)
{
    for (int r = 0; r < NUM_CHECKED; r++)
        pat[r] = mix(((uint64_t)side << 56) ^ ((uint64_t)iter << 8) ^ (uint64_t)r);
    pat[SLOT_FPCR] = ((uint64_t)((iter + 3 * side) & 7) << FPCR_RMODE_SHIFT)
                     | (side ? FPCR_DN : 0);
    pat[SLOT_SP_AFTER] = pat[SLOT_SP_BEFORE] = 0;
}

static void check(const char *side, long iter, const uint64_t *pat, const uint64_t *got)
{
    for (int r = 0; r < NUM_CHECKED; r++) {
        if (got[r] != pat[r])
            fail("%s broke on the %s side at switch %ld: expected 0x%016" PRIx64
                 ", got 0x%016" PRIx64,
                 slot_name[r], side, iter, pat[r], got[r]);
    }
    if (got[SLOT_SP_AFTER] != got[SLOT_SP_BEFORE])
        fail("sp broke on the %s side at switch %ld: was 0x%" PRIx64 ", came back as 0x%" PRIx64,
             side, iter, got[SLOT_SP_BEFORE], got[SLOT_SP_AFTER]);
}

/* ------------------------------------------------------------------------ */
/* Unwinding from inside the strand must stop at strands_trampoline.         */

#define MAX_FRAMES 64

struct backtrace {
    int n;
    uintptr_t ip[MAX_FRAMES];
};

static _Unwind_Reason_Code backtrace_cb(struct _Unwind_Context *ctx, void *p)
{
    struct backtrace *bt = p;
    if (bt->n >= MAX_FRAMES)
        return _URC_NORMAL_STOP; /* runaway: the chain did not terminate */
    bt->ip[bt->n++] = (uintptr_t)_Unwind_GetIP(ctx);
    return _URC_NO_REASON;
}

static __attribute__((noinline)) _Unwind_Reason_Code take_backtrace(struct backtrace *bt)
{
    bt->n = 0;
    return _Unwind_Backtrace(backtrace_cb, bt);
}

static int in_trampoline(uintptr_t ip)
{
    /* strands_trampoline is 4 instructions; a return address lands inside. */
    return ip > (uintptr_t)strands_trampoline && ip <= (uintptr_t)strands_trampoline + 16;
}

static void check_unwind(void)
{
    struct backtrace bt;
    _Unwind_Reason_Code rc = take_backtrace(&bt);
    if (rc != _URC_END_OF_STACK)
        fail("unwinding inside the strand did not end cleanly: _Unwind_Backtrace returned %d "
             "after %d frames (expected _URC_END_OF_STACK = %d)",
             (int)rc, bt.n, (int)_URC_END_OF_STACK);
    int last = -1;
    for (int i = 0; i < bt.n; i++) {
        if (in_trampoline(bt.ip[i]))
            last = i;
    }
    if (last < 0)
        fail("unwinding inside the strand never reached strands_trampoline (%d frames)", bt.n);
    for (int i = last + 1; i < bt.n; i++) {
        if (bt.ip[i] != 0)
            fail("unwinding walked past strands_trampoline: frame %d has ip 0x%" PRIxPTR, i,
                 bt.ip[i]);
    }
    printf("aarch64 harness: unwind from the strand: %d frames, ends at strands_trampoline: OK\n",
           last + 1);
}

/* ------------------------------------------------------------------------ */

void harness_coroutine(void *arg)
{
    volatile unsigned char local = 0;
    uintptr_t here = (uintptr_t)&local;
    const uint64_t *e = harness_entry_regs;

    if (arg != &H || e[4] != (uint64_t)(uintptr_t)&H)
        fail("first entry: entry got arg %p (x0 = 0x%" PRIx64 "), expected %p", arg, e[4],
             (void *)&H);
    if (here < (uintptr_t)H.stack_lo || here >= (uintptr_t)H.stack_top)
        fail("first entry: a local at 0x%" PRIxPTR " is not on the strand's stack [%p, %p)", here,
             (void *)H.stack_lo, (void *)H.stack_top);
    if (e[0] != (uint64_t)(uintptr_t)H.stack_top)
        fail("first entry: sp = 0x%" PRIx64 ", expected the rounded top %p", e[0],
             (void *)H.stack_top);
    if (e[0] % 16 != 0)
        fail("first entry: sp = 0x%" PRIx64 " is not 16-byte aligned", e[0]);
    if (e[1] != 0)
        fail("first entry: x29 = 0x%" PRIx64 ", expected 0", e[1]);
    if (!in_trampoline((uintptr_t)e[2]))
        fail("first entry: lr = 0x%" PRIx64 " does not point into strands_trampoline (%p)", e[2],
             (void *)strands_trampoline);
    if (e[3] != 0)
        fail("first entry: FPCR = 0x%" PRIx64 ", expected 0 (the main side ran with 0x%" PRIx64
             ")",
             e[3], MAIN_FIRST_FPCR);
    H.arg_ok = 1;
    printf("aarch64 harness: first entry: arg, sp == top (16-aligned), x29 = 0, lr, FPCR = 0, "
           "on the new stack: OK\n");

    check_unwind();

    uint64_t pat[NUM_SLOTS], got[NUM_SLOTS];
    for (long i = 0; i < H.rounds; i++) {
        make_pattern(1, i, pat);
        harness_fill_switch(&H.co_sp, H.main_sp, pat, got);
        check("strand", i, pat, got);
        H.co_switches++;
    }
    H.done = 1;
    strands_switch(&H.co_sp, H.main_sp); /* for the last time */
    fail("the strand was resumed after its last switch");
}

static void probe_fpcr(void)
{
    uint64_t old = read_fpcr();
    write_fpcr(FPCR_PATTERN_BITS);
    uint64_t got = read_fpcr();
    write_fpcr(old);
    if ((got & FPCR_PATTERN_BITS) != FPCR_PATTERN_BITS)
        fail("FPCR bits 22-25 (RMode, FZ, DN) are not writable here (wrote 0x%" PRIx64
             ", read 0x%" PRIx64 "): cannot use them as patterns",
             FPCR_PATTERN_BITS, got);
}

static int canary_intact(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != CANARY)
            return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    long switches = DEFAULT_SWITCHES;
    if (argc > 1) {
        switches = strtol(argv[1], NULL, 10);
        if (switches < 2 || switches % 2 != 0)
            fail("usage: %s [even number of switches >= 2]", argv[0]);
    }
    H.rounds = switches / 2;

    probe_fpcr();

    /* The strand's stack, with canaries all around. */
    unsigned char *mem = aligned_alloc(16, STACK_SIZE + CANARY_ABOVE);
    if (!mem)
        fail("out of memory");
    memset(mem, CANARY, STACK_SIZE + CANARY_ABOVE);
    H.stack_lo = mem;
    H.stack_top = mem + STACK_SIZE;

    /* Pass an unaligned top: it must be rounded down to H.stack_top. */
    H.co_sp = strands_init_stack(H.stack_top + 7, harness_entry_stub, &H);
    uintptr_t sp = (uintptr_t)H.co_sp;
    if (sp % 16 != 0 || sp >= (uintptr_t)H.stack_top || (uintptr_t)H.stack_top - sp > 512)
        fail("strands_init_stack returned %p for the rounded top %p", H.co_sp,
             (void *)H.stack_top);
    if (!canary_intact(H.stack_top, CANARY_ABOVE))
        fail("strands_init_stack wrote at or above top");
    if (!canary_intact(mem, sp - (uintptr_t)mem))
        fail("strands_init_stack wrote below the stack pointer it returned");

    /* First entry, leaving with a non-default FPCR that must not leak in. */
    write_fpcr(MAIN_FIRST_FPCR);
    strands_switch(&H.main_sp, H.co_sp);
    uint64_t fpcr_back = read_fpcr();
    write_fpcr(0);
    if (!H.arg_ok)
        fail("came back to main before the strand checked its first entry");
    if (fpcr_back != MAIN_FIRST_FPCR)
        fail("FPCR broke on the main side across the first switch: expected 0x%" PRIx64
             ", got 0x%" PRIx64,
             MAIN_FIRST_FPCR, fpcr_back);

    /* The ping-pong: each iteration is one switch away and one back. */
    uint64_t pat[NUM_SLOTS], got[NUM_SLOTS];
    for (long i = 0; i < H.rounds; i++) {
        make_pattern(0, i, pat);
        harness_fill_switch(&H.main_sp, H.co_sp, pat, got);
        check("main", i, pat, got);
    }
    if (!H.done || H.co_switches != H.rounds)
        fail("the strand made %ld checked switches, expected %ld", H.co_switches, H.rounds);
    if (!canary_intact(H.stack_top, CANARY_ABOVE))
        fail("the strand wrote above its stack top");
    free(mem);

    printf("aarch64 harness: %ld switches, all callee-saved registers and FPCR preserved: OK\n",
           H.rounds + H.co_switches);
    return 0;
}

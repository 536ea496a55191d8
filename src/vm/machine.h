/*
 * machine.h: the assembled VM (struct vm) and its vCPUs. Internal to the VM
 * core (vm/, arch/): devices see only struct dev_ctx.
 */
#ifndef QVM_VM_MACHINE_H
#define QVM_VM_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config/spec.h"
#include "devices/device.h"
#include "hv/kvm.h"
#include "loader/boot.h"
#include "vm/bus.h"
#include "vm/coredump.h"
#include "vm/memory.h"
#include "vm/passthru.h"
#include "vm/pioring.h"
#include "vm/stop.h"

struct vm;

/* What a vCPU thread is doing, for the SIGUSR1 status report. */
enum vcpu_state {
    VCPU_CREATED,  /* thread not started */
    VCPU_IN_GUEST, /* in KVM_RUN (running, halted or waiting for SIPI) */
    VCPU_IN_QVM,   /* handling an exit */
    VCPU_STOPPED,  /* thread ended */
};

#define VCPU_EXIT_REASONS 64 /* counted per reason below this */

struct vcpu {
    struct vm *vm;
    unsigned id;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;
    atomic_ulong exits_other; /* exits with a reason of VCPU_EXIT_REASONS+ */
    atomic_int state;         /* enum vcpu_state */
    atomic_ulong by_reason[VCPU_EXIT_REASONS];
    bool parked;      /* held for a dump (under vm->pause_lock) */
    void *dump_state; /* registers saved for a dump (arch_dump_save) */
};

/*
 * The KVM GSI routing table: KVM_SET_GSI_ROUTING replaces it whole, so qvm
 * keeps a copy: the irqchip pin routes (arch_vm_init) followed by one MSI
 * route per allocated GSI (from the first GSI past the IOAPIC's pins) that
 * has a message. Under `lock`; context: any thread.
 */
struct gsi_routes {
    pthread_mutex_t lock;
    struct kvm_irq_routing *table; /* capacity `cap` entries */
    uint32_t cap;
    uint32_t npins;    /* the first npins entries are irqchip pins */
    uint32_t msi_base; /* the first MSI GSI */
    uint32_t next_gsi; /* the next MSI GSI to hand out */
    uint32_t max_gsi;  /* KVM's limit (KVM_CAP_IRQ_ROUTING) */
};

struct vm {
    const struct vm_spec *spec;
    struct kvm_sys kvm;
    struct gmem mem;
    struct passthru pass; /* `pass loc mem:`/`io:` (vm/passthru.h) */
    struct bus pio, mmio;
    struct dev_ctx dev_ctx;
    struct dev_list devs;
    struct boot_state boot;
    struct vcpu *vcpus;
    unsigned nvcpus;
    pthread_mutex_t lock; /* thread start vs. kicks */
    atomic_int stop;      /* -1 running, else enum vm_stop */
    int stop_efd;         /* eventfd: written once when stop is set */
    bool has_irqchip;     /* local APICs in KVM (full or split irqchip) */
    bool hlt_in_guest;    /* `set exit-on-halt off` in force */
    void *arch;           /* the arch's platform state (arch/<arch>/) */
    /* KVM fast paths for devices (dev_ctx), from KVM_CHECK_EXTENSION. */
    bool has_ioeventfd, has_ioeventfd_any, has_irqfd, has_signal_msi;
    /* KVM_CAP_COALESCED_PIO, and the ring (vm/pioring.h) it fills: on
     * vCPU 0's mapping, attached when vCPU 0 is made. */
    bool has_coalesced_pio;
    struct pioring coalesced;
    /* dev_ctx.coalesced_on_flush's registrations (realize only). */
    struct {
        void (*fn)(void *arg, uint64_t port);
        void *arg;
    } cflush[4];
    unsigned ncflush;
    struct gsi_routes gsi;  /* arch: has_irqchip only */
    uint32_t next_dev_slot; /* the next devices' KVM memory slot (vm.c) */
    struct kvm_cpuid2 *cpuid;
    struct boot_input boot_in; /* rsdp_gpa, firmware ranges (arch) */
    void *fw_host;             /* qvm-owned firmware ROM, or NULL */
    uint64_t fw_size;
    void *pm;               /* the ACPI PM device (devices/platform.h) */
    void *gpio_power;       /* aarch64's power button (devices/pl061.h) */
    int pwrbtn_presses;     /* SIGTERM/SIGINT received */
    struct timespec pwrbtn; /* CLOCK_MONOTONIC of the first press */
    /* Guest dumps (vm/dumper.h): the helper (NULL: no `dump`), the vCPU
     * pause (vcpus_pause), the fault a dump at exit is for. */
    struct dumper *dumper;
    pthread_mutex_t pause_lock;
    pthread_cond_t pause_cv;
    atomic_bool pause_req;
    _Atomic(const char *) fault_why;
};

/*
 * vm_request_stop: end the VM for `why`; the first request wins. Kicks
 * every vCPU out of KVM_RUN. Context: any thread.
 */
void vm_request_stop(struct vm *vm, enum vm_stop why);
static inline bool vm_stopping(const struct vm *vm)
{
    return atomic_load(&vm->stop) >= 0;
}

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned id) MUST_CHECK;
int vcpu_start(struct vcpu *vcpu) MUST_CHECK;
/* vcpu_kick: make the vCPU leave KVM_RUN soon. Caller holds vm->lock. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
/* vcpu_exits: the exits to qvm so far (by_reason's sum). Any thread. */
unsigned long vcpu_exits(struct vcpu *vcpu);
/* vcpu_join: wait for the vCPU's thread to end (after a stop request). */
void vcpu_join(struct vcpu *vcpu);
/*
 * vcpus_pause: kick every running vCPU out of KVM_RUN and wait until each
 * is parked (its registers saved by arch_dump_save) or has ended;
 * vcpus_resume lets them run again. One pause at a time (the dump lock).
 * Context: any thread but a vCPU's.
 */
void vcpus_pause(struct vm *vm);
void vcpus_resume(struct vm *vm);
int vcpu_kick_signal(void);

/*
 * exit.c: the exit handlers, a table indexed by kvm_run->exit_reason;
 * each returns false when the vCPU must stop. The vCPU loop (vcpu.c)
 * dispatches itself (bench/README.md, "Per exit"): exit_table[reason],
 * or exit_unexpected for a reason without a handler. exit_thread_init:
 * on the vCPU's thread, before its first exit.
 */
typedef bool (*exit_fn)(struct vcpu *vcpu, struct kvm_run *run);
#define EXIT_TABLE_LEN VCPU_EXIT_REASONS
extern const exit_fn exit_table[EXIT_TABLE_LEN];
bool exit_unexpected(struct vcpu *vcpu, uint32_t reason);
void exit_thread_init(struct vcpu *vcpu);

/* Arch hooks (src/arch/<arch>/). */
int arch_vm_init(struct vm *vm) MUST_CHECK;
int arch_vcpu_init(struct vcpu *vcpu) MUST_CHECK;
int arch_vcpu_boot(struct vcpu *vcpu, const struct boot_state *bs) MUST_CHECK;
/*
 * arch_firmware_init: build the firmware tables (x86: ACPI + MP table)
 * into guest memory and fill vm->boot_in (RSDP, reserved ranges) for the
 * loaders; map the platform registers that describe (x86: the ACPI reset
 * register). After devices_realize, before boot_load_spec; needs
 * vm->nvcpus. Logs and returns <0 on failure.
 */
int arch_firmware_init(struct vm *vm) MUST_CHECK;
/*
 * arch_msi_route_alloc: a new GSI for an MSI route (>= 0), -ENOSYS when
 * this VM cannot route MSIs, -ENOSPC past KVM's limit.
 * arch_msi_route_set: point `gsi` at (addr, data), or remove its route;
 * KVM's table is replaced and qvm's copy kept in step (unchanged when KVM
 * refuses). Context: any thread.
 */
int arch_msi_route_alloc(struct vm *vm);
int arch_msi_route_set(struct vm *vm, int gsi, bool valid, uint64_t addr,
                       uint32_t data);
/* arch_vcpu_dump: log registers and the instruction bytes at the PC. */
void arch_vcpu_dump(struct vcpu *vcpu, const char *why);
/*
 * Guest dumps (vm/dumper.h). arch_dump_save: save the vCPU's registers in
 * vcpu->dump_state (freed by vcpu_destroy); on the vCPU's thread, or when
 * no thread runs it. arch_core_notes: the dump's notes (core registers
 * per vCPU, system registers, the process info) from the saved states;
 * 0 or -ENOMEM. arch_core_machine: the ELF e_machine.
 */
void arch_dump_save(struct vcpu *vcpu);
/* vm_dump_states: a copy of each vCPU's saved state (`each` bytes, zeroes
 * where none was saved), in vCPU order, for arch_core_notes; NULL when out
 * of memory. The caller frees it. */
void *vm_dump_states(struct vm *vm, size_t each);
int arch_core_notes(struct vm *vm, struct core_notes *out) MUST_CHECK;
extern const uint16_t arch_core_machine;
/* arch_vcpu_pc: the program counter, for messages (0 if unknown).
 * Context: the vCPU thread only (KVM_GET_REGS waits for KVM_RUN). */
uint64_t arch_vcpu_pc(struct vcpu *vcpu);
void arch_vm_free(struct vm *vm);
/*
 * The `unsupported` policies (vm/unsup.h; x86: src/arch/x86/unsup.c).
 * Context: the vCPU thread, while it handles the exit. Each returns 0 or
 * a negative errno (and logs why).
 * arch_unsup_init: ask KVM to hand qvm what the policies decide
 * (instruction emulation failures, unknown MSRs); from arch_vm_init.
 * arch_insn_undefined: raise the undefined-instruction exception (x86
 * #UD) at the PC.
 * arch_insn_len: the length of the instruction at the PC, from `bytes`
 * (n of them; n = 0: read through the guest's page tables), 0 when it
 * cannot be known. arch_insn_skip: the PC past `len` bytes.
 * arch_reference_fault: for a port or MMIO access nothing decodes (the
 * current exit): complete it (reads see all ones), put the registers
 * back as they were before the instruction where KVM has not retired it
 * yet, and raise the access fault (x86 #GP(0)).
 */
int arch_unsup_init(struct vm *vm) MUST_CHECK;
int arch_insn_undefined(struct vcpu *vcpu);
unsigned arch_insn_len(struct vcpu *vcpu, const uint8_t *bytes, unsigned n);
int arch_insn_skip(struct vcpu *vcpu, unsigned len);
int arch_reference_fault(struct vcpu *vcpu);
/* arch_reference_fault_name: what arch_reference_fault raises, for the
 * log ("#GP(0)"). */
extern const char arch_reference_fault_name[];
/* arch_irq_resolve, arch_irq_isa: dev_ctx's irq_resolve and irq_isa
 * (devices/device.h); ctx_opaque is the struct vm. */
int arch_irq_resolve(void *ctx_opaque, const struct intr *in, int isa,
                     struct irq_line *out);
int arch_irq_isa(void *ctx_opaque, unsigned isa, struct irq_line *out);
/* arch_legacy_replacement: dev_ctx's legacy_replacement. */
void arch_legacy_replacement(void *ctx_opaque, bool on);
/* arch_vcpu_pre_run: just before each KVM_RUN, on the vCPU's thread (x86:
 * inject the 8259's interrupt on vCPU 0), when arch_vcpu_has_pre_run
 * said so as the thread started (the machine is realized by then). */
void arch_vcpu_pre_run(struct vcpu *vcpu);
bool arch_vcpu_has_pre_run(struct vcpu *vcpu);
/* arch_ioapic_eoi: KVM_EXIT_IOAPIC_EOI (the local APICs' EOI of a
 * level-triggered vector of qvm's IOAPICs). */
void arch_ioapic_eoi(struct vm *vm, uint8_t vector);
/* arch_irq_eoi_fd: dev_ctx's irq_eoi_fd. */
int arch_irq_eoi_fd(void *ctx_opaque, int64_t gsi, int fd);
/* arch_irqfd_resample: dev_ctx's irqfd_resample, `gsi` as irq_resolve
 * gave it (x86: KVM's GSI; arm64: the SPI's INTID). */
int arch_irqfd_resample(struct vm *vm, int gsi, int fd, int rfd, bool assign);

#endif

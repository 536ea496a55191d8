# summarize.awk: turns measure.sh's "@@BENCH TEST VMM ROUND ok=1 k=v ..."
# lines into the Markdown tables of bench/README.md. Portable awk (mawk,
# gawk, busybox). Variables: ratios=1 prints ratios of medians only (the
# lab bed, where absolute times are emulated time); stalled_ok=1 counts
# the runs during which L1 stalled (see below).
#
# Metrics: boot/first = exec to the guest's first line ("@U") on stdout;
# boot/exit = exec to the VMM's exit after the guest powers off;
# boot/rss = peak RSS (ru_maxrss) of that run; exits/exit_us = the time
# between "@S" and "@E" divided by the 100,000 port writes between them.
# The Linux tests (bench/run.sh --linux): lboot/linit = start to the
# guest's init marker, lboot/lkern = start to the kernel's first console
# line ("Linux version": QEMU's first bytes are its boot loader's, so the
# first byte compares nothing), lboot/lexit = start to exit after power-off;
# blk-mmio and blk-pci: read and write throughput of 256 MiB in MiB/s,
# timed on the host between the guest's markers (r, w) and by the guest's
# /proc/uptime around each dd (ddr, ddw). Throughput ratios are
# qvm : VMM too: above 1, qvm is faster.

function kv(key,    i, n, a) {
    for (i = 5; i <= NF; i++) {
        n = split($i, a, "=")
        if (n == 2 && a[1] == key)
            return a[2]
    }
    return "-"
}

# 256 MiB over the time from a to b (in units of 1/scale s), in MiB/s.
function rate(metric, vmm, a, b, scale) {
    if (a != "-" && b != "-" && b - a > 0)
        add(metric, vmm, 256 * scale / (b - a))
}

function add(metric, vmm, v) {
    if (v == "-")
        return
    k = metric SUBSEP vmm
    vals[k, ++cnt[k]] = v + 0
    if (!(vmm in seen_vmm)) {
        seen_vmm[vmm] = 1
        if (!(vmm in known))
            extra = extra " " vmm
    }
}

# Sorts vals[k, 1..n] in place (insertion sort: n is small).
function sortk(k, n,    i, j, t) {
    for (i = 2; i <= n; i++) {
        t = vals[k, i]
        for (j = i - 1; j >= 1 && vals[k, j] > t; j--)
            vals[k, j + 1] = vals[k, j]
        vals[k, j + 1] = t
    }
}

function median(k, n) {
    return n % 2 ? vals[k, (n + 1) / 2] : (vals[k, n / 2] + vals[k, n / 2 + 1]) / 2
}

function fmt(v, unit) {
    if (unit == "KiB")
        return sprintf("%d", v)
    return sprintf(v < 10 ? "%.2f" : "%.1f", v)
}

BEGIN {
    nvmm = split("qvm qvm2 raw microvm microvm-rtc pc", vmm_order, " ")
    for (o = 1; o <= nvmm; o++)
        known[vmm_order[o]] = 1
}

$1 == "@@BENCH" {
    test = $2; vmm = $3
    # stalled=1 (bench/run.sh: L1 stalled during the run, lab-run woke it)
    # counts as a measurement with -v stalled_ok=1: when every run stalled,
    # the ratios of the same lab run are still what there is.
    if ($5 != "ok=1" && !(stalled_ok && $NF == "stalled=1" && kv("status") == "0")) {
        failed[test SUBSEP vmm]++
        next
    }
    if (test == "lboot") {
        add("linit", vmm, kv("mark1_ms"))
        add("lkern", vmm, kv("mark2_ms"))
        add("lexit", vmm, kv("exit_ms"))
    } else if (test ~ /^blk-/) {
        t = substr(test, 5)
        rate(t "_r", vmm, kv("mark1_ms"), kv("mark2_ms"), 1000)
        rate(t "_w", vmm, kv("mark3_ms"), kv("mark4_ms"), 1000)
        rate(t "_ddr", vmm, 0, kv("dd_r_s"), 1)
        rate(t "_ddw", vmm, 0, kv("dd_w_s"), 1)
    }
    if (test == "boot") {
        add("first", vmm, kv("mark1_ms"))
        add("exit", vmm, kv("exit_ms"))
        add("rss", vmm, kv("maxrss_kb"))
    } else if (test == "exits") {
        a = kv("mark1_ms"); b = kv("mark2_ms")
        if (a != "-" && b != "-")
            add("exit_us", vmm, (b - a) * 1000 / 100000)
    } else if (test == "mem") {
        a = kv("mark1_ms"); b = kv("mark2_ms")
        if (a != "-" && b != "-")
            add("mem_ms", vmm, b - a)
    }
}

END {
    names["qvm"] = "qvm"; names["raw"] = "raw KVM (floor)"
    names["microvm"] = "QEMU -M microvm"; names["pc"] = "QEMU -M pc"
    names["microvm-rtc"] = "QEMU -M microvm,rtc=on"
    names["qvm2"] = "qvm" (qvm2 != "" ? " + " qvm2 : " (variant)")
    title["first"] = "start-up: exec to first guest output"; unit["first"] = "ms"
    title["exit"] = "start-up: exec to exit after power-off"; unit["exit"] = "ms"
    title["rss"] = "peak RSS, 256 MiB guest"; unit["rss"] = "KiB"
    title["exit_us"] = "per port-I/O exit (100,000 writes)"; unit["exit_us"] = "us"
    title["mem_ms"] = "guest memory: 4 M random read-modify-writes over 200 MiB"; unit["mem_ms"] = "ms"
    of["mem_ms"] = "mem"
    title["linit"] = "Linux boot: start to init marker"; unit["linit"] = "ms"
    title["lexit"] = "Linux boot: start to exit after power-off"; unit["lexit"] = "ms"
    title["lkern"] = "Linux boot: start to the kernel's first line"; unit["lkern"] = "ms"
    of["linit"] = of["lexit"] = of["lkern"] = "lboot"
    of["first"] = of["exit"] = of["rss"] = "boot"; of["exit_us"] = "exits"
    tn["mmio"] = "virtio-blk MMIO (QEMU: virtio-blk-device)"
    tn["pci"] = "virtio-blk PCI (QEMU: microvm,pcie=on, virtio-blk-pci)"
    for (t in tn) {
        title[t "_r"] = tn[t] ": read, host-timed"; unit[t "_r"] = "MiB/s"
        title[t "_w"] = tn[t] ": write, host-timed"; unit[t "_w"] = "MiB/s"
        title[t "_ddr"] = tn[t] ": read, guest-timed"; unit[t "_ddr"] = "MiB/s"
        title[t "_ddw"] = tn[t] ": write, guest-timed"; unit[t "_ddw"] = "MiB/s"
        of[t "_r"] = of[t "_w"] = of[t "_ddr"] = of[t "_ddw"] = "blk-" t
    }
    nm = split("first exit rss exit_us mem_ms lkern linit lexit mmio_r mmio_w mmio_ddr mmio_ddw pci_r pci_w pci_ddr pci_ddw", metrics, " ")
    ne = split(extra, extras, " ")
    for (o = 1; o <= ne; o++)
        vmm_order[++nvmm] = extras[o]
    if (ratios)
        print "| metric | VMM | runs | ratio qvm : VMM (medians) |"
    else
        print "| metric | VMM | runs | min | median | max | qvm : VMM (medians) |"
    print ratios ? "|---|---|---|---|" : "|---|---|---|---|---|---|---|"
    for (m = 1; m <= nm; m++) {
        met = metrics[m]
        qk = met SUBSEP "qvm"
        if (cnt[qk]) {
            sortk(qk, cnt[qk])
            qmed = median(qk, cnt[qk])
        }
        for (o = 1; o <= nvmm; o++) {
            vmm = vmm_order[o]
            k = met SUBSEP vmm
            n = cnt[k] + 0
            if (!n || !(vmm in seen_vmm))
                continue
            sortk(k, n)
            med = median(k, n)
            meds[met, vmm] = med
            ratio = (cnt[qk] && vmm != "qvm" && med > 0) ? sprintf("%.3f", qmed / med) : ""
            runs = n (failed[of[met] SUBSEP vmm] ? " (+" failed[of[met] SUBSEP vmm] " failed)" : "")
            label = title[met] " (" unit[met] ")"
            if (ratios)
                printf "| %s | %s | %s | %s |\n", label, names[vmm], runs, vmm == "qvm" ? "1" : ratio
            else
                printf "| %s | %s | %s | %s | %s | %s | %s |\n", label, names[vmm], runs,
                    fmt(vals[k, 1], unit[met]), fmt(med, unit[met]), fmt(vals[k, n], unit[met]),
                    vmm == "qvm" ? "1" : ratio
        }
    }
    print ""
    print "| issue 7 target | qvm : VMM (medians) | met? |"
    print "|---|---|---|"
    target("first", "microvm", 0.15, "start-up (first output) <= 0.15 x QEMU microvm")
    target("first", "raw", 3, "start-up (first output) <= 3 x the floor")
    target("rss", "microvm", 0.1, "peak RSS <= 0.1 x QEMU microvm")
    target("rss", "raw", 1.5, "peak RSS <= 1.5 x the floor")
    target("exit_us", "raw", 1.05, "per exit <= 1.05 x the floor")
    target("linit", "microvm", 0.8, "Linux boot, start to init marker <= 0.8 x QEMU microvm")
    target("lexit", "microvm", 0.8, "Linux boot, start to exit after power-off <= 0.8 x QEMU microvm")
    target("linit", "microvm-rtc", 0.8, "Linux boot, start to init marker <= 0.8 x QEMU microvm,rtc=on")
    target("lexit", "microvm-rtc", 0.8, "Linux boot, start to exit after power-off <= 0.8 x QEMU microvm,rtc=on")
    target2("linit", "microvm", 0.8, "Linux boot, start to init marker <= 0.8 x QEMU microvm")
    target2("lexit", "microvm", 0.8, "Linux boot, start to exit after power-off <= 0.8 x QEMU microvm")
    target2("linit", "microvm-rtc", 0.8, "Linux boot, start to init marker <= 0.8 x QEMU microvm,rtc=on")
    target2("lexit", "microvm-rtc", 0.8, "Linux boot, start to exit after power-off <= 0.8 x QEMU microvm,rtc=on")
    target("linit", "microvm-rtc", 0.75, "issue 18: Linux boot, start to init marker <= 0.75 x QEMU microvm,rtc=on")
    target2("linit", "microvm-rtc", 0.75, "issue 18: Linux boot, start to init marker <= 0.75 x QEMU microvm,rtc=on")
    target("mmio_r", "microvm", -1, "virtio-blk MMIO read >= 1.0 x QEMU (host-timed)")
    target("mmio_w", "microvm", -1, "virtio-blk MMIO write >= 1.0 x QEMU (host-timed)")
    target("pci_r", "microvm", -1, "virtio-blk PCI read >= 1.0 x QEMU (host-timed)")
    target("pci_w", "microvm", -1, "virtio-blk PCI write >= 1.0 x QEMU (host-timed)")
}

# target2: the same for the variant qvm2 (its ratio to VMM).
function target2(met, vmm, limit, text,    r) {
    if (!((met, "qvm2") in meds) || !((met, vmm) in meds) || meds[met, vmm] <= 0)
        return
    r = meds[met, "qvm2"] / meds[met, vmm]
    printf "| %s: %s | %.3f | %s |\n", names["qvm2"], text, r, r <= limit ? "met" : "**missed**"
}

# A positive limit is a ceiling on the ratio; -L means "at least L".
function target(met, vmm, limit, text,    r, ok) {
    if (!((met, "qvm") in meds) || !((met, vmm) in meds) || meds[met, vmm] <= 0)
        return
    r = meds[met, "qvm"] / meds[met, vmm]
    ok = limit > 0 ? r <= limit : r >= -limit
    printf "| %s | %.3f | %s |\n", text, r, ok ? "met" : "**missed**"
}

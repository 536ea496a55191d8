# summarize.awk: turns measure.sh's "@@BENCH TEST VMM ROUND ok=1 k=v ..."
# lines into the Markdown tables of bench/README.md. Portable awk (mawk,
# gawk, busybox). Variables: ratios=1 prints ratios of medians only (the
# lab bed, where absolute times are emulated time).
#
# Metrics: boot/first = exec to the guest's first line ("@U") on stdout;
# boot/exit = exec to the VMM's exit after the guest powers off;
# boot/rss = peak RSS (ru_maxrss) of that run; exits/exit_us = the time
# between "@S" and "@E" divided by the 100,000 port writes between them.

function kv(key,    i, n, a) {
    for (i = 5; i <= NF; i++) {
        n = split($i, a, "=")
        if (n == 2 && a[1] == key)
            return a[2]
    }
    return "-"
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
    nvmm = split("qvm raw microvm pc", vmm_order, " ")
    for (o = 1; o <= nvmm; o++)
        known[vmm_order[o]] = 1
}

$1 == "@@BENCH" {
    test = $2; vmm = $3
    if ($5 != "ok=1") {
        failed[test SUBSEP vmm]++
        next
    }
    if (test == "boot") {
        add("first", vmm, kv("mark1_ms"))
        add("exit", vmm, kv("exit_ms"))
        add("rss", vmm, kv("maxrss_kb"))
    } else if (test == "exits") {
        a = kv("mark1_ms"); b = kv("mark2_ms")
        if (a != "-" && b != "-")
            add("exit_us", vmm, (b - a) * 1000 / 100000)
    }
}

END {
    names["qvm"] = "qvm"; names["raw"] = "raw KVM (floor)"
    names["microvm"] = "QEMU -M microvm"; names["pc"] = "QEMU -M pc"
    title["first"] = "start-up: exec to first guest output"; unit["first"] = "ms"
    title["exit"] = "start-up: exec to exit after power-off"; unit["exit"] = "ms"
    title["rss"] = "peak RSS, 256 MiB guest"; unit["rss"] = "KiB"
    title["exit_us"] = "per port-I/O exit (100,000 writes)"; unit["exit_us"] = "us"
    nm = split("first exit rss exit_us", metrics, " ")
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
            runs = n ((failed["boot" SUBSEP vmm] + failed["exits" SUBSEP vmm]) ? " (+fail)" : "")
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
}

function target(met, vmm, limit, text,    r) {
    if (!((met, "qvm") in meds) || !((met, vmm) in meds) || meds[met, vmm] <= 0)
        return
    r = meds[met, "qvm"] / meds[met, vmm]
    printf "| %s | %.3f | %s |\n", text, r, r <= limit ? "met" : "**missed**"
}

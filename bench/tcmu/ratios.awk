# Reads the guest's "BENCH <label>-<round> <metric> <value> ..." lines and
# prints, per label other than "loop" and per metric, the label/loop ratio of
# each round and their median:
#   RATIO <label>/loop <metric> <r1> <r2> ... median <m>
# (run.sh and ab.sh; the pingpong lines are not per round and are skipped.)
/^BENCH/ && $2 != "pingpong" {
  n = split($2, w, "-"); r = w[n]; label = substr($2, 1, length($2) - length(r) - 1)
  v[label " " $3 " " r] = $4; labels[label] = 1
  if (r + 0 > rounds) rounds = r + 0
}
END {
  split("seq-64k rand-2k-qd1 rand-2k-qd32", metric, " ")
  for (label in labels) {
    if (label == "loop") continue
    for (i = 1; i <= 3; ++i) {
      k = 0; line = ""
      for (r = 1; r <= rounds; ++r) {
        base = v["loop " metric[i] " " r]; ours = v[label " " metric[i] " " r]
        if (base > 0 && ours > 0) { x[++k] = ours / base; line = line sprintf(" %.2f", x[k]) }
      }
      for (a = 1; a <= k; ++a) for (b = a + 1; b <= k; ++b) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
      if (k) printf "RATIO %s/loop %s%s median %.2f\n", label, metric[i], line, (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
    }
  }
}

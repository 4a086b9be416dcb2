set terminal pngcairo size 1400,600 font "sans,10" noenhanced
set output "throughput-cold-64mb-cache.png"
set datafile missing "-"
set key outside right top vertical
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set xtics rotate by -40 nomirror
set title "Throughput, cold, 64 MiB cache (data 1.7x) (log scale)"
set ylabel "operations/s"
plot "throughput-cold-64mb-cache.dat" using 2:xtic(1) title "mvdb" lc rgb "#d62728", \
     '' using 3:xtic(1) title "rocksdb" lc rgb "#1f77b4", \
     '' using 4:xtic(1) title "leveldb" lc rgb "#2ca02c", \
     '' using 5:xtic(1) title "lmdb" lc rgb "#ff7f0e", \
     '' using 6:xtic(1) title "wiredtiger" lc rgb "#9467bd", \
     '' using 7:xtic(1) title "sqlite" lc rgb "#8c564b"

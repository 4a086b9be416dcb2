set terminal pngcairo size 1000,560 font "sans,10" noenhanced
set output "syncwrite.png"
set datafile missing "-"
set key outside right top vertical
set grid ytics
set title "Durable commits, in cache (log-log)"
set logscale x 2
set logscale y
set xlabel "threads"
set ylabel "commits/s"
set style data linespoints
plot "syncwrite.dat" using 1:2 title "mvdb" lc rgb "#d62728" lw 2 pt 7, \
     '' using 1:3 title "rocksdb" lc rgb "#1f77b4" lw 2 pt 7, \
     '' using 1:4 title "leveldb" lc rgb "#2ca02c" lw 2 pt 7, \
     '' using 1:5 title "lmdb" lc rgb "#ff7f0e" lw 2 pt 7, \
     '' using 1:6 title "wiredtiger" lc rgb "#9467bd" lw 2 pt 7, \
     '' using 1:7 title "sqlite" lc rgb "#8c564b" lw 2 pt 7, 7660.05 title "raw fdatasync/s (1 thread)" dt 2 lw 2 lc rgb 'black'

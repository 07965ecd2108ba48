// objgraph-bench: the benchmarks of swift-objgraph (run them with scripts/bench).
//
//   objgraph-bench all [options]            every measurement, in child processes, then a summary
//   objgraph-bench workload NAME [--tracked] one workload, timed (prints `@ seconds ...`)
//   objgraph-bench heap N                    growth/snapshot/chain/cycles/leaks on N live objects
//   objgraph-bench mem N [--blocks] [--tracked]         RSS growth while building N objects
#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
let status: Int32
switch arguments.first {
case "workload": status = runWorkload(Array(arguments.dropFirst()))
case "heap": status = runHeap(Array(arguments.dropFirst()))
case "mem": status = runMemory(Array(arguments.dropFirst()))
case "all": status = Orchestrator(options: Options(Array(arguments.dropFirst()))).run()
default:
    print(
        """
        usage: objgraph-bench all [--reps N] [--sizes 10000,100000,1000000] [--objgraph PATH] [--fixture PATH]
                                  [--asan-fixture PATH | --asan-unavailable REASON]
                                  [--whole-heap PATH] [--asan-whole-heap PATH]
                                  [--report-shapes PATH] [--big-program NAME]
                                  [--python PATH | --python-unavailable REASON] [--pairs N] [--leak-reps ROUNDS]
                                  [--machine TEXT]
                                  [--only 1,2,4,5,6,7,8] (sections)
               objgraph-bench workload \(workloads.map(\.name).joined(separator: "|")) [--tracked]
               objgraph-bench heap N
               objgraph-bench mem N [--blocks] [--tracked]
        """)
    status = 2
}
flush()
exit(status)

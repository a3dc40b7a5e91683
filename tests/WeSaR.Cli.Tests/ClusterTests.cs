using System.Diagnostics;
using System.Text.RegularExpressions;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Sweeps;
using WeSaR.TestSupport;
using Xunit.Abstractions;

namespace WeSaR.Cli.Tests;

/// <summary>
/// Real `wesar node` processes on 127.0.0.1 sharing a PostgreSQL journal and a run folder: nodes are killed with
/// SIGKILL mid-run, and every run must still complete exactly once with the weights of an uninterrupted sweep.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTests(ITestOutputHelper output) : IDisposable
{
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    readonly TempDir dir = TestEnv.NewTempDir();
    readonly List<RunningWesar> processes = [];

    public void Dispose()
    {
        foreach (var p in processes) p.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    // Two runs of 60 steps. Every checkpoint write of step 30 holds 3 s: a moment to kill a node at, with step 20
    // committed and the run half done.
    static string SweepFile(string dir) => TestSweeps.Write(dir, "cluster", "run.seed = [1, 2]", 60,
        """faults { pauses = ["checkpoint-write@30"], pause-seconds = 3 }""");

    // The final weights of an uninterrupted single-process sweep of the same file, per run.
    static readonly Lazy<Task<Dictionary<RunId, string>>> Reference = new(async () =>
    {
        using var d = TestEnv.NewTempDir();
        var r = Wesar.Run(Patience, "--workdir", d.Path, "sweep", "run", SweepFile(d.Path), "--set", "orchestrator.slots.cpu=2");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var id = new SweepId(Regex.Match(r.Stdout, @"^sweep (\S+):", RegexOptions.Multiline).Groups[1].Value);
        var (settings, config) = OrchestratorHost.LoadConfig(null, []);
        await using var host = OrchestratorHost.Start(settings, config, d.Path);
        return (await host.History.Events(id)).Select(e => e.Event).OfType<RunCompleted>().ToDictionary(c => c.Run, c => c.Metrics.ModelSha256!);
    });

    static Dictionary<string, string> Env(PostgresDatabase db) => Env(db.ConnectionString);

    static Dictionary<string, string> Env(string journal) => new() { ["WESAR_POSTGRES"] = journal };

    string[] Shared(params string[] args) =>
    [
        .. args, "--set", "orchestrator.journal.provider=postgresql", "--set", $"orchestrator.shared-dir={Path.Combine(dir.Path, "shared")}",
        "--set", "orchestrator.slots.cpu=1",
    ];

    RunningWesar Node(PostgresDatabase db, string name, string roles, int port, int seed) => Node(db.ConnectionString, name, roles, port, seed);

    RunningWesar Node(string journal, string name, string roles, int port, int seed) => Node(journal, name, roles, "127.0.0.1", port, $"127.0.0.1:{seed}");

    /// <param name="host">The address it binds to (another than loopback says the test network is trusted).</param>
    /// <param name="inside">A network namespace to run it in: another host.</param>
    RunningWesar Node(string journal, string name, string roles, string host, int port, string seed, NetworkNamespace? inside = null)
    {
        string[] address = host == "127.0.0.1" ? [] : ["--hostname", host, "--trusted-network"];
        var p = new RunningWesar(inside, Env(journal), Shared(["--workdir", Path.Combine(dir.Path, name), "node", "--roles", roles, "--port", port.ToString(),
            "--seed", seed, .. address,
            // Fast fail-over for the test; heartbeats may pause up to 4 s on a loaded 2-core machine without a false downing.
            "--set", "akka.cluster.split-brain-resolver.stable-after=3s", "--set", "akka.cluster.failure-detector.acceptable-heartbeat-pause=4s"]));
        processes.Add(p);
        p.WaitFor(l => l.Contains($"member up: akka.tcp://wesar@{host}:{port}"), Patience);
        return p;
    }

    static Task<List<ISweepEvent>> Events(PostgresDatabase db, SweepId id) => Events(db.ConnectionString, id);

    static async Task<List<ISweepEvent>> Events(string journal, SweepId id)
    {
        var (settings, config) = OrchestratorHost.LoadConfig(null, ["orchestrator.journal.provider=postgresql", $"orchestrator.journal.postgresql=\"{journal}\""]);
        using var d = TestEnv.NewTempDir();
        await using var host = OrchestratorHost.Start(settings, config, d.Path);
        return (await host.History.Events(id)).Select(e => e.Event).ToList();
    }

    // Waits until one of the processes prints a matching line (after the line counts given); returns its index.
    static int WaitForAny(IReadOnlyList<RunningWesar> nodes, IReadOnlyList<int> from, Func<string, bool> match)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            for (var i = 0; i < nodes.Count; i++)
            {
                try { nodes[i].WaitFor(match, TimeSpan.Zero, from[i]); return i; }
                catch (TimeoutException) { }
            }
            Thread.Sleep(100);
        }
        throw new TimeoutException("no node printed the expected line:\n" + string.Join("\n---\n", nodes.Select(n => n.Output)));
    }

    static async Task AssertCompletedOnceWithReferenceWeights(List<ISweepEvent> events)
    {
        var reference = await Reference.Value;
        var completed = events.OfType<RunCompleted>().ToList();
        Assert.Equal(reference.Keys.Select(r => r.Value).Order(), completed.Select(c => c.Run.Value).Order());   // each run exactly once
        Assert.Single(events.OfType<SweepCompleted>());
        foreach (var c in completed) Assert.Equal(reference[c.Run], c.Metrics.ModelSha256);
    }

    [PostgresFact]
    public async Task Killing_a_trainer_node_then_the_coordinator_node_moves_their_runs_and_completes_each_run_once_bit_for_bit()
    {
        using var db = new PostgresDatabase();
        var file = SweepFile(dir.Path);
        var (pa, pb, pc, pd) = (FreePort.Next(), FreePort.Next(), FreePort.Next(), FreePort.Next());
        // Three trainer nodes (the first also a coordinator) and a second coordinator-capable node without slots,
        // so the singleton has somewhere to go and one death always leaves a majority.
        var a = Node(db, "a", "coordinator,trainer", pa, pa);
        var b = Node(db, "b", "trainer", pb, pa);
        var c = Node(db, "c", "trainer", pc, pa);
        var d = Node(db, "d", "coordinator", pd, pa);
        foreach (var port in new[] { pb, pc, pd }) a.WaitFor(l => l.Contains($"member up: akka.tcp://wesar@127.0.0.1:{port}"), Patience);

        using var client = new RunningWesar("--workdir", Path.Combine(dir.Path, "client"), "sweep", "run", file, "--cluster", $"127.0.0.1:{pa},127.0.0.1:{pc}");
        var id = new SweepId(Regex.Match(client.WaitFor(l => l.StartsWith("sweep cluster-"), Patience), @"^sweep (\S+) ").Groups[1].Value);

        // 1. The trainer-only node that holds a run dies in that run's checkpoint write at step 30.
        var trainers = new[] { b, c };
        var victim = WaitForAny(trainers, [0, 0], l => l.Contains("fault: holding checkpoint-write@30"));
        var survivors = new[] { a, trainers[1 - victim] };
        var marks = survivors.Select(s => s.LineCount).ToArray();
        var clock = Stopwatch.StartNew();
        trainers[victim].KillHard();
        var mover = WaitForAny(survivors, marks, l => l.Contains("resumed from step 20"));
        output.WriteLine($"trainer node killed -> its run training again on another node: {clock.Elapsed.TotalSeconds:F1} s");

        // 2. The first coordinator's node dies while the moved run is held in its next checkpoint write: the
        // singleton moves to the other coordinator node and the run resumes on the trainer that is left.
        survivors[mover].WaitFor(l => l.Contains("fault: holding checkpoint-write@30"), Patience, marks[mover]);
        var rest = new[] { survivors[1], d };
        var restMarks = rest.Select(s => s.LineCount).ToArray();
        clock.Restart();
        a.KillHard();
        WaitForAny(rest, restMarks, l => l.Contains("resumed from step"));
        output.WriteLine($"coordinator node killed -> runs training again under the new singleton: {clock.Elapsed.TotalSeconds:F1} s");

        Assert.True(client.WaitForExit(Patience) == 0, client.Output);
        Assert.Contains("(completed)", client.Output);
        var events = await Events(db, id);
        await AssertCompletedOnceWithReferenceWeights(events);
        // The history commands read the cluster's journal like a local one.
        var status = Wesar.Run(Patience, Env(db), "--workdir", Path.Combine(dir.Path, "reader"), "sweep", "status", id.Value, "--json",
            "--set", "orchestrator.journal.provider=postgresql", "--set", $"orchestrator.shared-dir={Path.Combine(dir.Path, "shared")}");
        Assert.True(status.ExitCode == 0, status.Stderr);
        using (var json = System.Text.Json.JsonDocument.Parse(status.Stdout))
        {
            Assert.Equal("completed", json.RootElement.GetProperty("state").GetString());
            Assert.All(json.RootElement.GetProperty("runs").EnumerateArray(), r => Assert.Equal(60, r.GetProperty("step").GetInt64()));
        }
        var runs = Wesar.Run(Patience, Env(db), "runs", "list", "--sweep", id.Value, "--json", "--set", "orchestrator.journal.provider=postgresql");
        Assert.True(runs.ExitCode == 0, runs.Stderr);
        using (var json = System.Text.Json.JsonDocument.Parse(runs.Stdout))
            Assert.Equal(2, json.RootElement.GetArrayLength());

        var killed = new[] { pb, pc }[victim];
        var moves = events.OfType<RunAssigned>().GroupBy(e => e.Run).Single(g => g.Any(e => e.Node.EndsWith($":{killed}"))).ToList();
        Assert.True(moves.Count >= 3, string.Join(", ", moves));   // the dead trainer, a survivor, and again after the coordinator died
        Assert.DoesNotContain(moves.SkipWhile(e => !e.Node.EndsWith($":{killed}")).Skip(1), e => e.Node.EndsWith($":{killed}"));
    }

    [NetnsPostgresFact]
    public async Task A_trainer_node_partitioned_off_downs_itself_and_its_run_completes_once_elsewhere_bit_for_bit()
    {
        // The trainer b runs on a second host (a network namespace); cutting its link is a real partition, both ways.
        using var db = new PostgresDatabase();
        using var net = new NetworkNamespace();
        var (pa, pb, pc) = (FreePort.Next(), FreePort.Next(), FreePort.Next());
        var seed = $"{net.OutsideIp}:{pa}";
        var a = Node(db.ConnectionString, "a", "coordinator", net.OutsideIp, pa, seed);
        var b = Node(db.ConnectionString, "b", "trainer", net.InsideIp, pb, seed, net);
        var c = Node(db.ConnectionString, "c", "trainer", net.OutsideIp, pc, seed);
        foreach (var (host, port) in new[] { (net.InsideIp, pb), (net.OutsideIp, pc) })
            a.WaitFor(l => l.Contains($"member up: akka.tcp://wesar@{host}:{port}"), Patience);
        using var client = new RunningWesar("--workdir", Path.Combine(dir.Path, "client"), "sweep", "run", SweepFile(dir.Path), "--cluster", seed);
        var id = new SweepId(Regex.Match(client.WaitFor(l => l.StartsWith("sweep cluster-"), Patience), @"^sweep (\S+) ").Groups[1].Value);

        // Each trainer has one slot and takes one run; b's is held in its step-30 checkpoint write, step 20 committed.
        b.WaitFor(l => l.Contains("fault: holding checkpoint-write@30"), Patience);
        var mark = c.LineCount;
        var clock = Stopwatch.StartNew();
        net.Cut();
        c.WaitFor(l => l.Contains("resumed from step 20"), Patience, mark);
        output.WriteLine($"trainer node partitioned off -> its run training again on another node: {clock.Elapsed.TotalSeconds:F1} s");
        // Alone on its side, b is the minority: the split-brain resolver downs it and it stops (its run stays moved).
        var exited = Stopwatch.StartNew();
        while (!b.HasExited && exited.Elapsed < Patience) Thread.Sleep(200);
        Assert.True(b.HasExited, "the partitioned node did not stop:\n" + b.Output);
        net.Heal();

        Assert.True(client.WaitForExit(Patience) == 0, client.Output);
        var events = await Events(db, id);
        await AssertCompletedOnceWithReferenceWeights(events);
        var moved = events.OfType<RunAssigned>().GroupBy(e => e.Run).Single(g => g.Any(e => e.Node.EndsWith($":{pb}"))).ToList();
        Assert.Equal([$"{net.InsideIp}:{pb}", $"{net.OutsideIp}:{pc}"], moved.Select(e => e.Node).Distinct());
        Assert.Empty(events.OfType<RunRestarted>());   // a partition is not the run's fault
    }

    [PostgresServerFact]
    public async Task A_20_second_outage_of_the_cluster_s_postgresql_pauses_the_sweep_which_resumes_by_itself_and_completes_each_run_once_bit_for_bit()
    {
        // A server of the test's own, stopped for real while both runs hold their step-30 checkpoint write.
        using var pg = new PrivatePostgres();
        var (pa, pb) = (FreePort.Next(), FreePort.Next());
        var a = Node(pg.ConnectionString, "a", "coordinator,trainer", pa, pa);
        var b = Node(pg.ConnectionString, "b", "trainer", pb, pa);
        a.WaitFor(l => l.Contains($"member up: akka.tcp://wesar@127.0.0.1:{pb}"), Patience);
        using var client = new RunningWesar("--workdir", Path.Combine(dir.Path, "client"), "sweep", "run", SweepFile(dir.Path), "--cluster", $"127.0.0.1:{pa}");
        var id = new SweepId(Regex.Match(client.WaitFor(l => l.StartsWith("sweep cluster-"), Patience), @"^sweep (\S+) ").Groups[1].Value);
        var nodes = new[] { a, b };
        WaitForAny(nodes, [0, 0], l => l.Contains("fault: holding checkpoint-write@30"));

        pg.Stop();
        a.WaitFor(l => l.Contains("starting it again in"), Patience);   // the commit failed; the coordinator is stopped and retried
        Thread.Sleep(TimeSpan.FromSeconds(20));
        var marks = nodes.Select(n => n.LineCount).ToArray();
        pg.Start();
        var clock = Stopwatch.StartNew();
        WaitForAny(nodes, marks, l => l.Contains("resumed from step"));
        output.WriteLine($"PostgreSQL back -> a run training again: {clock.Elapsed.TotalSeconds:F1} s");

        Assert.True(client.WaitForExit(Patience) == 0, client.Output);
        Assert.False(a.HasExited || b.HasExited, "a node exited during the outage");
        var events = await Events(pg.ConnectionString, id);
        await AssertCompletedOnceWithReferenceWeights(events);
        Assert.Empty(events.OfType<RunRestarted>());   // the journal's outage is not the runs' fault
    }

    [PostgresFact]
    public async Task A_trainer_node_told_to_stop_checkpoints_its_run_and_hands_it_to_another_node()
    {
        using var db = new PostgresDatabase();
        var file = SweepFile(dir.Path);
        var (pa, pb) = (FreePort.Next(), FreePort.Next());
        var a = Node(db, "a", "coordinator,trainer", pa, pa);
        var b = Node(db, "b", "trainer", pb, pa);
        a.WaitFor(l => l.Contains($"member up: akka.tcp://wesar@127.0.0.1:{pb}"), Patience);
        using var client = new RunningWesar("--workdir", Path.Combine(dir.Path, "client"), "sweep", "run", file, "--cluster", $"127.0.0.1:{pa}");
        var id = new SweepId(Regex.Match(client.WaitFor(l => l.StartsWith("sweep cluster-"), Patience), @"^sweep (\S+) ").Groups[1].Value);

        // SIGTERM between checkpoints (progress lines come every 6 steps: 13 leaves room before the one at 20): the node
        // finishes its step, checkpoints, commits and leaves.
        var before = int.Parse(Regex.Match(b.WaitFor(l => Regex.IsMatch(l, @"step 1[2-7]/60"), Patience), @"step (\d+)/60").Groups[1].Value);
        Process.Start("kill", ["-TERM", b.Pid.ToString()])!.WaitForExit();
        Assert.Equal(0, b.WaitForExit(Patience));
        Assert.Contains("stopped (ClrExitReason)", b.Output);

        Assert.True(client.WaitForExit(Patience) == 0, client.Output + a.Output);
        var events = await Events(db, id);
        await AssertCompletedOnceWithReferenceWeights(events);
        var moved = events.OfType<RunAssigned>().First(e => e.Node.EndsWith($":{pb}")).Run;
        Assert.Contains(events.OfType<RunAssigned>(), e => e.Run == moved && e.Node.EndsWith($":{pa}"));
        // The run's last commit on b is the one its stop wrote (usually between periodic ones); a resumes from it.
        var movedAt = events.FindIndex(e => e is RunAssigned r && r.Run == moved && r.Node.EndsWith($":{pa}"));
        var stop = events.Take(movedAt).OfType<CheckpointCommitted>().Last(c => c.Run == moved).Step;
        Assert.True(stop > before, $"last commit {stop}, signal after step {before}");   // the stop wrote one, past the periodic 10
        Assert.Contains($"resumed from step {stop}", a.Output);   // nothing after the stop was lost
    }

    [PostgresFact]
    public async Task A_coordinator_node_told_to_stop_hands_the_singleton_over_after_its_runs_checkpoint()
    {
        using var db = new PostgresDatabase();
        var file = SweepFile(dir.Path);
        var (pa, pb) = (FreePort.Next(), FreePort.Next());
        var a = Node(db, "a", "coordinator", pa, pa);   // the oldest: it hosts the singleton
        var b = Node(db, "b", "coordinator,trainer", pb, pa);
        a.WaitFor(l => l.Contains($"member up: akka.tcp://wesar@127.0.0.1:{pb}"), Patience);
        using var client = new RunningWesar("--workdir", Path.Combine(dir.Path, "client"), "sweep", "run", file, "--cluster", $"127.0.0.1:{pa},127.0.0.1:{pb}");
        var id = new SweepId(Regex.Match(client.WaitFor(l => l.StartsWith("sweep cluster-"), Patience), @"^sweep (\S+) ").Groups[1].Value);

        // SIGTERM to the singleton's node while the run on the other node holds its step-30 checkpoint write (not yet
        // committed). Stopped by the hand-over, the run commits step 30 and resumes there; aborted, it would go back to 20.
        b.WaitFor(l => l.Contains("fault: holding checkpoint-write@30"), Patience);
        var mark = b.LineCount;
        Process.Start("kill", ["-TERM", a.Pid.ToString()])!.WaitForExit();
        Assert.Equal(0, a.WaitForExit(Patience));

        Assert.True(client.WaitForExit(Patience) == 0, client.Output + b.Output);
        var events = await Events(db, id);
        await AssertCompletedOnceWithReferenceWeights(events);
        b.WaitFor(l => l.Contains("resumed from step 30"), TimeSpan.Zero, mark);
        Assert.DoesNotContain(b.Output.Split('\n').Skip(mark), l => l.Contains("resumed from step 20"));
        Assert.DoesNotContain(events.OfType<RunRestarted>(), _ => true);
    }

    [PostgresFact]
    public async Task A_sweep_started_on_one_machine_continues_on_a_cluster_from_its_journal()
    {
        using var db = new PostgresDatabase();
        var file = SweepFile(dir.Path);
        SweepId id;
        using (var local = new RunningWesar(Env(db), Shared("--workdir", Path.Combine(dir.Path, "local"), "sweep", "run", file, "--set", "orchestrator.slots.cpu=2")))
        {
            id = new SweepId(Regex.Match(local.WaitFor(l => l.StartsWith("sweep cluster-"), Patience), @"^sweep (\S+):").Groups[1].Value);
            local.WaitFor(l => l.Contains("fault: holding checkpoint-write@30"), Patience);
            local.KillHard();
        }
        var port = FreePort.Next();
        var node = Node(db, "node", "coordinator,trainer", port, port);
        var r = Wesar.Run(Patience, "--workdir", Path.Combine(dir.Path, "client"), "sweep", "resume", id.Value, "--cluster", $"127.0.0.1:{port}");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr + node.Output);
        Assert.Contains("resumed from step 20", node.Output);
        await AssertCompletedOnceWithReferenceWeights(await Events(db, id));

        var unknown = Wesar.Run(Patience, "sweep", "resume", "no-such-sweep", "--cluster", $"127.0.0.1:{port}");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no sweep 'no-such-sweep' in the cluster's journal", unknown.Stderr);
    }
}

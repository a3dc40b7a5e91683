using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>
/// `wesar sweep goodput` over a real sweep with a rollback, a crash restarted in the process and a kill -9 of the whole
/// process followed by `sweep resume`, checked against the journal's own write times read through `wesar sql`.
/// </summary>
public sealed class GoodputCommandTests : IDisposable
{
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    // The events table keeps write times to the microsecond; a figure sums a few differences of them.
    const double Tolerance = 1e-4;
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    string Work => Path.Combine(dir.Path, "work");

    string[] Sweep(params string[] args) =>
        ["--workdir", Work, "sweep", .. args, "--set", "orchestrator.slots.cpu=2", "--set", "orchestrator.restarts.min-backoff=100ms"];

    sealed record Event(string? Run, string Kind, DateTime At, long? Step, long? ToStep);

    [Fact]
    public void Goodput_of_a_sweep_with_a_rollback_a_crash_and_a_kill_agrees_with_the_journals_timestamps()
    {
        // Batch 25 is poisoned (a spike at 26, a rollback to 20); the first attempt throws at step 33 (a restart from 30);
        // the final checkpoint write at 40 is held, and the process is killed there, in both runs, then resumed.
        var file = TestSweeps.Write(dir.Path, "goodput", "run.seed = [1, 2]", 40, """
            faults { poison-batches = [25], poison-scale = 50, throw-at-step = 33, throw-attempts = 1 }
            faults { pauses = ["checkpoint-write@40"], pause-seconds = 20 }
            """);
        string id;
        using (var p = new RunningWesar(Sweep("run", file)))
        {
            id = Regex.Match(p.WaitFor(l => l.StartsWith("sweep goodput-", StringComparison.Ordinal), Patience), @"^sweep (\S+):").Groups[1].Value;
            foreach (var run in new[] { "[seed=1]", "[seed=2]" })
                p.WaitFor(l => l.StartsWith(run, StringComparison.Ordinal) && l.Contains("fault: holding checkpoint-write@40"), Patience);
            p.KillHard();
        }
        using (var p = new RunningWesar(Sweep("resume", id)))
            Assert.True(p.WaitForExit(Patience) == 0, p.Output);

        var goodput = Wesar.Run("--workdir", Work, "sweep", "goodput", id, "--json").Json();
        var events = Events(id);
        var (first, last) = (events[0].At, events[^1].At);
        Assert.Equal(("SweepStarted", "SweepCompleted"), (events[0].Kind, events[^1].Kind));
        Assert.Equal((last - first).TotalSeconds, goodput.GetProperty("wall_seconds").GetDouble(), Tolerance);

        var runs = goodput.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(2, runs.Count);
        foreach (var run in runs)
        {
            var name = run.GetProperty("run").GetString();
            var mine = events.Where(e => e.Run == name).ToList();
            var f = run.GetProperty("figures");
            double F(string key) => f.GetProperty(key).GetDouble();
            Assert.Equal((1, 1, 1), (run.GetProperty("rollbacks").GetInt32(), run.GetProperty("restarts").GetInt32(), run.GetProperty("resumes").GetInt32()));

            // Total: the sweep's start to the run's completion; the parts add up to it.
            Assert.Equal((mine.Single(e => e.Kind == "RunCompleted").At - first).TotalSeconds, F("total_seconds"), Tolerance);
            var parts = new[] { "useful_seconds", "redone_seconds", "checkpoint_seconds", "recovery_seconds", "startup_seconds", "waiting_seconds" };
            Assert.All(parts, p => Assert.True(F(p) >= 0, $"{p} = {F(p)}"));
            Assert.Equal(F("total_seconds"), parts.Sum(F), Tolerance);

            // Redone: the rollback's steps, and the time since the run was last at the step it went back to; a crash's
            // time since its last commit (here no event comes between).
            var rolledBack = mine.Single(e => e.Kind == "RolledBack");
            var restarted = mine.Single(e => e.Kind == "RunRestarted");
            Assert.Equal(rolledBack.Step - rolledBack.ToStep, f.GetProperty("redone_steps").GetInt64());
            var redone = (rolledBack.At - LastCommitBefore(mine, rolledBack, rolledBack.ToStep)).TotalSeconds
                         + (restarted.At - LastCommitBefore(mine, restarted, null)).TotalSeconds;
            Assert.Equal(redone, F("redone_seconds"), Tolerance);

            // Waiting: until its first slot. Recovery: at least from the crash to the placement after the kill (the trainer
            // had not committed again), which holds the trainer's start after the backoff and the dead process's time.
            var assigned = mine.Where(e => e.Kind == "RunAssigned").ToList();
            Assert.Equal(2, assigned.Count);
            Assert.Equal((assigned[0].At - first).TotalSeconds, F("waiting_seconds"), Tolerance);
            Assert.True(F("recovery_seconds") >= (assigned[1].At - restarted.At).TotalSeconds - Tolerance, $"recovery {F("recovery_seconds")}");
            Assert.InRange(F("ratio"), double.Epsilon, 1 - double.Epsilon);
            Assert.Equal(F("useful_seconds") / F("total_seconds"), F("ratio"), 1e-12);
        }
        var all = goodput.GetProperty("all_runs");
        foreach (var key in new[] { "total_seconds", "useful_seconds", "redone_seconds", "recovery_seconds", "waiting_seconds" })
            Assert.Equal(runs.Sum(r => r.GetProperty("figures").GetProperty(key).GetDouble()), all.GetProperty(key).GetDouble(), 1e-9);
        Assert.Equal(12, all.GetProperty("redone_steps").GetInt64());

        // The table and the report show the same figures.
        var table = Wesar.Run("--workdir", Work, "sweep", "goodput", id);
        Assert.True(table.ExitCode == 0, table.Stdout + table.Stderr);
        var ratio = (100 * all.GetProperty("ratio").GetDouble()).ToString("F1", CultureInfo.InvariantCulture);
        Assert.Matches($@"(?m)^\s+all runs\s+.*\s12\s.*\s{Regex.Escape(ratio)} %\s*$", table.Stdout);
        Assert.Contains($"2 rollback(s), 2 restart(s), 2 resume(s); effective-training-time ratio {ratio} %", table.Stdout);
        var report = Wesar.Run("--workdir", Work, "report", id, "--out", Path.Combine(dir.Path, "report"));
        Assert.True(report.ExitCode == 0, report.Stdout + report.Stderr);
        var html = File.ReadAllText(Path.Combine(dir.Path, "report", "index.html"));
        Assert.Contains("<table id=\"goodput\">", html);
        Assert.Contains($"Effective-training-time ratio {ratio} %", html);
    }

    // The write time of the run's last commit before `e` (at `step`, if given).
    static DateTime LastCommitBefore(List<Event> events, Event e, long? step) =>
        events.TakeWhile(x => x != e).Last(x => x.Kind == "CheckpointCommitted" && (step is null || x.Step == step)).At;

    List<Event> Events(string id)
    {
        var sql = Wesar.Run("--workdir", Work, "sql",
            $"select run, event, at_utc, step, (payload->>'toStep')::bigint as to_step from events where sweep = '{id}' order by seq", "--json").Json();
        return [.. sql.EnumerateArray().Select(e => new Event(e.GetProperty("run").GetString(), e.GetProperty("event").GetString()!,
            DateTime.Parse(e.GetProperty("at_utc").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
            Long(e.GetProperty("step")), Long(e.GetProperty("to_step"))))];
    }

    static long? Long(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetInt64();
}

using System.Text.Json;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>
/// `wesar sweep stability` over a real sweep whose run diverges by itself after the early warning rose, checked against
/// the journal's own events read through `wesar sql`.
/// </summary>
public sealed class StabilityCommandTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    string Work => Path.Combine(dir.Path, "work");

    static Wesar.Result Ok(Wesar.Result r)
    {
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        return r;
    }

    sealed record Event(string Kind, long? Step, long? ToStep);

    [Fact]
    public void Stability_of_a_natural_divergence_after_a_raised_risk_agrees_with_the_journal()
    {
        var run = Ok(Wesar.Run(TimeSpan.FromMinutes(5), "--workdir", Work, "sweep", "run", TestSweeps.RiskBeforeDivergence(dir.Path)));
        var id = Regex.Match(run.Stdout, @"^sweep (\S+):", RegexOptions.Multiline).Groups[1].Value;
        var events = Events(id);
        var stability = Ok(Wesar.Run("--workdir", Work, "sweep", "stability", id, "--json")).Json();
        var r = Assert.Single(stability.GetProperty("runs").EnumerateArray());
        Assert.Equal("completed", r.GetProperty("state").GetString());

        // Every SpikeDetected once, in order, each warned by the newest risk raised at or before it (none cleared here
        // before the divergence), the first at step 3, the lead its distance to the spike.
        var spikes = r.GetProperty("spikes").EnumerateArray().ToList();
        Assert.Equal(events.Where(e => e.Kind == "SpikeDetected").Select(e => e.Step), spikes.Select(s => (long?)s.GetProperty("step").GetInt64()));
        Assert.NotEmpty(spikes);
        var first = spikes[0];
        var raised = events.TakeWhile(e => e.Kind != "SpikeDetected").Where(e => e.Kind == "SpikeRiskRaised").ToList();
        Assert.Equal(3, Assert.Single(raised).Step);
        Assert.DoesNotContain(events.TakeWhile(e => e.Kind != "SpikeDetected"), e => e.Kind == "SpikeRiskCleared");
        Assert.True(first.GetProperty("warned").GetBoolean(), r.ToString());
        Assert.Equal(3, first.GetProperty("risk_raised_at").GetInt64());
        Assert.Equal(first.GetProperty("step").GetInt64() - 3, first.GetProperty("lead_steps").GetInt64());
        Assert.Equal("warned", r.GetProperty("risks")[0].GetProperty("outcome").GetString());
        Assert.Equal(events.Count(e => e.Kind == "SpikeRiskRaised"), r.GetProperty("risks").GetArrayLength());

        // The rollbacks as the journal has them, the first from the spike to the initialisation; the steps trained are the
        // final step plus the steps they threw away, which `sweep goodput` counts as redone.
        var rollbacks = r.GetProperty("rollbacks").EnumerateArray().Select(b => (b.GetProperty("from_step").GetInt64(), b.GetProperty("to_step").GetInt64(),
            b.GetProperty("cost_steps").GetInt64())).ToList();
        Assert.Equal(events.Where(e => e.Kind == "RolledBack").Select(e => (e.Step!.Value, e.ToStep!.Value, e.Step!.Value - e.ToStep!.Value)), rollbacks);
        Assert.Equal((first.GetProperty("step").GetInt64(), 0L), (rollbacks[0].Item1, rollbacks[0].Item2));
        var f = r.GetProperty("figures");
        var cost = rollbacks.Sum(b => b.Item3);
        Assert.Equal((rollbacks.Count, cost, rollbacks.Max(b => b.Item3)),
            (f.GetProperty("rollbacks").GetInt32(), f.GetProperty("rollback_steps").GetInt64(), f.GetProperty("max_rollback_steps").GetInt64()));
        var completed = events.Single(e => e.Kind == "RunCompleted").Step!.Value;
        Assert.Equal(12, completed);
        Assert.Equal(completed + cost, f.GetProperty("steps_trained").GetInt64());
        var goodput = Ok(Wesar.Run("--workdir", Work, "sweep", "goodput", id, "--json")).Json();
        Assert.Equal(cost, goodput.GetProperty("all_runs").GetProperty("redone_steps").GetInt64());
        var falseAlarms = f.GetProperty("false_alarms").GetInt32();
        Assert.Equal(1000.0 * falseAlarms / (completed + cost), f.GetProperty("false_alarms_per_1000_steps").GetDouble(), 1e-9);
        Assert.True(JsonElement.DeepEquals(f, stability.GetProperty("all_runs")), stability.ToString());

        // The table and the report say the same.
        var table = Ok(Wesar.Run("--workdir", Work, "sweep", "stability", id)).Stdout;
        Assert.Matches($@"(?m)^\s+all runs\s+{completed + cost}\s+{spikes.Count}\s+{f.GetProperty("warned").GetInt32()}\s", table);
        Assert.Matches($@"(?m)^\s+{first.GetProperty("step").GetInt64()}\s+divergence\s+loss\s+\S+\s+\S+\s+3\s+{first.GetProperty("lead_steps").GetInt64()}\s+not replayed\s*$", table);
        var summary = $"{spikes.Count} spike(s), {f.GetProperty("warned").GetInt32()} warned by a risk raised before them";
        Assert.Contains($"sweep {id}: {summary}", table);
        Assert.Contains($"{rollbacks.Count} rollback(s) costing {cost} steps", table);
        Ok(Wesar.Run("--workdir", Work, "report", id, "--out", Path.Combine(dir.Path, "report")));
        var html = File.ReadAllText(Path.Combine(dir.Path, "report", "index.html"));
        Assert.Contains("<table id=\"stability\">", html);
        Assert.Contains("<table id=\"stability-spikes\">", html);
        Assert.Contains(summary, html);
    }

    List<Event> Events(string id)
    {
        var sql = Ok(Wesar.Run("--workdir", Work, "sql",
            $"select event, step, (payload->>'toStep')::bigint as to_step from events where sweep = '{id}' and run is not null order by seq", "--json")).Json();
        return [.. sql.EnumerateArray().Select(e => new Event(e.GetProperty("event").GetString()!, Long(e.GetProperty("step")), Long(e.GetProperty("to_step"))))];
    }

    static long? Long(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetInt64();
}

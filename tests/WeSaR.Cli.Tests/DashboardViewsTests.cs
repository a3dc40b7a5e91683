using WeSaR.Actors.Persistence;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Cli.Serve;
using WeSaR.TestSupport;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Tests;

public sealed class DashboardViewsTests
{
    static readonly SweepId Sweep = new("s-1");

    static RunRecord Record(string run, RunPhase state, long step, long steps, double? tokensPerS) =>
        new(Sweep.Value, run, run, "he", 1e-3, 1, state, step, steps, 0, 0, 0, null, null, null, tokensPerS, null, null, null, null, null, null, null, null);

    static MetricsLine Line(long step, double loss, double? val = null, Dictionary<string, double>? ratio = null) =>
        new(step, loss, 1, 1e-3, step * 128, 1000, 100, ratio, null, val);

    static JournalEvent At(long offset, ISweepEvent e) => new(offset, offset, DateTime.UnixEpoch.AddSeconds(offset), e);

    [Fact]
    public void The_pace_is_the_tokens_of_a_step_over_the_tokens_per_second()
    {
        Assert.Equal(0.128, DashboardViews.Pace(Record("a", RunPhase.Running, 10, 100, 1000), 128));
        Assert.Null(DashboardViews.Pace(Record("a", RunPhase.Pending, 0, 100, null), 128));
        Assert.Null(DashboardViews.Pace(Record("a", RunPhase.Running, 0, 100, 0), 128));
    }

    [Fact]
    public void A_running_run_has_its_steps_left_at_its_pace_and_the_sweep_adds_the_runs_not_started()
    {
        // Running: 100 steps left at 0.1 s = 10 s. Pending: 200 steps at the mean pace of the measured runs (0.1 and 0.3 s) = 40 s.
        var (runs, sweep) = DashboardViews.Etas(
        [
            (Record("a", RunPhase.Running, 100, 200, null), false, 0.1),
            (Record("b", RunPhase.Completed, 200, 200, null), true, 0.3),
            (Record("c", RunPhase.Pending, 0, 200, null), false, null),
        ], slots: 1);
        Assert.Equal([10.0, null, null], runs);
        Assert.Equal(50, sweep!.Value, 6);
    }

    [Fact]
    public void A_curve_has_one_value_per_logged_step_gaps_for_what_is_missing_and_only_its_own_runs_spikes_and_rollbacks()
    {
        var ratio = new Dictionary<string, double> { ["h.0.mlp.down_proj"] = 0.1, ["h.1.mlp.down_proj"] = 0.3, ["h.0.mlp.up_proj"] = 0.5 };
        MetricsLine[] metrics = [Line(1, 5.0, ratio: ratio), Line(2, double.NaN), Line(3, 4.0, val: 4.2)];
        JournalEvent[] events =
        [
            At(1, new SpikeDetected(Sweep, new RunId("a"), 2, "z-score", "loss", 40, 5, 0.5, 8)),
            At(2, new RolledBack(Sweep, new RunId("a"), 2, 1, null, 1, 1.0)),
            At(3, new SpikeDetected(Sweep, new RunId("b"), 3, "z-score", "loss", 30, 5, 0.5, 8)),
        ];
        var c = DashboardViews.CurveOf(metrics, events, "a");
        Assert.Equal([1L, 2, 3], c.Steps);
        Assert.Equal([5.0, null, 4.0], c.Loss);   // a NaN loss is a gap: JSON has no NaN
        Assert.Equal([null, null, 4.2], c.ValLoss);
        Assert.Equal(["mlp.down_proj", "mlp.up_proj"], c.UpdateRatio.Keys.Order());
        Assert.Equal(0.2, c.UpdateRatio["mlp.down_proj"][0]!.Value, 12);   // the mean over the layers
        Assert.Equal([null, null], c.UpdateRatio["mlp.down_proj"].Skip(1));
        Assert.Empty(c.Gate);
        Assert.Equal((2L, 40.0), Assert.Single(c.Spikes) is var s ? (s.Step, s.Value) : default);
        Assert.Equal(new DashboardViews.Span(2, 1), Assert.Single(c.RolledBack));
    }

    [Fact]
    public void The_audit_trail_of_a_run_is_its_events_in_journal_order_worded_as_runs_events_prints_them()
    {
        JournalEvent[] events =
        [
            At(1, new RunScheduled(Sweep, new RunId("a"))),
            At(2, new RunScheduled(Sweep, new RunId("b"))),
            At(3, new RunFailed(Sweep, new RunId("a"), 7, "boom")),
            At(4, new SweepCompleted(Sweep, 0, 2, DateTime.UnixEpoch)),
        ];
        var trail = DashboardViews.Trail(events, "a");
        Assert.Equal([1L, 3], trail.Select(t => t.Offset));
        Assert.Equal(["scheduled", Tables.Describe(events[2].Event)], trail.Select(t => t.Text));
        Assert.Equal("RunFailed", trail[1].Type);
    }

    [Fact]
    public void The_pivot_orders_numbers_by_value_and_leaves_a_missing_group_empty()
    {
        ComparisonCell Cell(string scheme, string lr, double loss) => new([scheme, lr], 1, 1, loss, null, 0, 0, false);
        var pivot = Tables.PivotOf(["scheme", "lr"], [Cell("he", "1e-2", 3.0), Cell("he", "3e-3", 3.5), Cell("wesar(he)", "3e-3", 2.5)]);
        Assert.Equal("scheme", pivot.RowHeader);
        Assert.Equal(["lr=3e-3", "lr=1e-2"], pivot.Columns);
        Assert.Equal(["he", "wesar(he)"], pivot.Rows.Select(r => r.Name));
        Assert.Equal([3.5, 3.0], pivot.Rows[0].Cells.Select(c => c!.LossMean));
        Assert.Null(pivot.Rows[1].Cells[1]);
        Assert.Equal(["val loss"], Tables.PivotOf(["seed"], [Cell("1", "-", 2.0)]).Columns);
    }

    [Fact]
    public void A_half_written_last_line_of_a_metrics_file_is_left_for_the_next_read()
    {
        using var dir = TestEnv.NewTempDir();
        var file = Path.Combine(dir.Path, MetricsLog.FileName);
        using (var log = new MetricsLog(file, 0))
        {
            log.Write(Line(1, 5.0));
            log.Write(Line(2, 4.5));
        }
        File.AppendAllText(file, "{\"step\":3,\"loss\":4.");
        Assert.Equal([1L, 2], DashboardViews.ReadMetrics(file).Select(m => m.Step));
        Assert.Empty(DashboardViews.ReadMetrics(Path.Combine(dir.Path, "none.jsonl")));
    }
}

namespace WeSaR.Cli.Tests;

public sealed class SweepEtaTests
{
    static SweepEta.RunLeft Run(long remaining, double? etaSeconds) => new(remaining, etaSeconds is { } s ? TimeSpan.FromSeconds(s) : null);

    [Fact]
    public void Runs_without_an_eta_are_timed_at_the_measured_pace_and_spread_over_the_slots()
    {
        // Two running runs at 0.1 s/step with 100 steps left, four waiting runs of 200 steps: 10 + 10 + 4 × 20 = 100 s of work.
        SweepEta.RunLeft[] runs = [Run(100, 10), Run(100, 10), Run(200, null), Run(200, null), Run(200, null), Run(200, null)];
        Assert.Equal(TimeSpan.FromSeconds(100), SweepEta.Of(runs, [0.1, 0.1], 1));
        Assert.Equal(TimeSpan.FromSeconds(50), SweepEta.Of(runs, [0.1, 0.1], 2));
    }

    [Fact]
    public void The_pace_of_ended_runs_times_the_runs_not_started()
    {
        Assert.Equal(TimeSpan.FromSeconds(60), SweepEta.Of([Run(200, null), Run(400, null)], [0.1], 1));
    }

    [Fact]
    public void More_slots_than_runs_left_do_not_shorten_the_longest_run()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), SweepEta.Of([Run(300, 30), Run(10, 1)], [0.1, 0.1], 8));
    }

    [Fact]
    public void No_estimate_before_any_run_is_timed_or_once_nothing_is_left()
    {
        Assert.Null(SweepEta.Of([Run(100, null), Run(100, null)], [], 2));
        Assert.Null(SweepEta.Of([Run(0, 0)], [0.1], 2));
        Assert.Null(SweepEta.Of([], [0.1], 2));
    }
}

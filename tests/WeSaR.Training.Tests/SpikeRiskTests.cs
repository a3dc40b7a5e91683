using WeSaR.Training.Spikes;

namespace WeSaR.Training.Tests;

public sealed class SpikeRiskTests
{
    static readonly RiskSettings On = new(true, MaxRatio: 0.25, Spread: 8, Consecutive: 2, CheckpointInterval: 5, LrScale: 0.5);

    // Four matrices: the median is the mean of the middle two.
    static Dictionary<string, double> Ratios(double down, double rest = 0.02) =>
        new() { ["h.0.mlp.up_proj"] = rest, ["h.0.mlp.down_proj"] = down, ["h.0.attn.q_proj"] = rest, ["wte"] = rest / 2 };

    [Fact]
    public void A_ratio_past_the_bound_raises_the_risk_only_after_consecutive_measurements_and_clears_after_as_many_within()
    {
        var risk = new SpikeRisk(On);
        Assert.Null(risk.Observe(1, Ratios(0.3)));      // one measurement past 0.25: not yet
        Assert.Null(risk.Observe(2, Ratios(0.1)));      // back within: the count starts again
        Assert.Null(risk.Observe(3, Ratios(0.3)));
        var raised = risk.Observe(4, Ratios(0.4));
        Assert.Equal(new RiskSignal(4, true, "max-ratio", "h.0.mlp.down_proj", 0.4, 0.25), raised);
        Assert.True(risk.Raised);
        Assert.Equal((0.5, 5L), (risk.LrScale, risk.CheckpointInterval(25)));

        Assert.Null(risk.Observe(5, Ratios(0.1)));
        Assert.Null(risk.Observe(6, Ratios(0.3)));      // past again: still raised, the count to clear restarts
        Assert.Null(risk.Observe(7, Ratios(0.1)));
        Assert.Equal(new RiskSignal(8, false, "max-ratio", "h.0.mlp.down_proj", 0.12, 0.25), risk.Observe(8, Ratios(0.12)));
        Assert.Equal((1.0, 25L), (risk.LrScale, risk.CheckpointInterval(25)));
    }

    [Fact]
    public void One_matrix_far_above_the_median_raises_the_spread_rule_with_its_multiple()
    {
        // Median of (0.01, 0.02, 0.02, 0.2) is 0.02: 0.2 is 10 x the median, past 8, though below the 0.25 bound.
        var risk = new SpikeRisk(On);
        Assert.Null(risk.Observe(10, Ratios(0.2)));
        var raised = risk.Observe(11, Ratios(0.2))!;
        Assert.Equal(("spread", "h.0.mlp.down_proj", 8.0), (raised.Rule, raised.Matrix, raised.Threshold));
        Assert.Equal(10, raised.Value, 9);
    }

    [Fact]
    public void A_non_finite_ratio_is_past_every_bound_and_a_disabled_rule_never_fires()
    {
        var risk = new SpikeRisk(On with { Consecutive = 1 });
        Assert.Equal("max-ratio", risk.Observe(1, Ratios(double.NaN))!.Rule);
        var off = new SpikeRisk(RiskSettings.Off);
        Assert.All(Enumerable.Range(1, 5), i => Assert.Null(off.Observe(i, Ratios(10))));
        Assert.Equal((1.0, 25L), (off.LrScale, off.CheckpointInterval(25)));
    }

    [Fact]
    public void A_restored_state_goes_on_as_the_live_rule_would()
    {
        var live = new SpikeRisk(On);
        live.Observe(1, Ratios(0.3));
        var restored = new SpikeRisk(On) { State = live.State };
        Assert.Equal(live.Observe(2, Ratios(0.3)), restored.Observe(2, Ratios(0.3)));
        Assert.True(restored.Raised);
    }
}

using WeSaR.Training.Spikes;

namespace WeSaR.Training.Tests;

public class SpikeDetectorTests
{
    static IEnumerable<StreamPoint> Noisy(int n, double level = 3.0) =>
        Enumerable.Range(1, n).Select(i => new StreamPoint(i, level + 0.01 * Math.Sin(i), 1.0 + 0.01 * Math.Cos(i)));

    static List<SpikeSignal> Run(ISpikeDetector d, IEnumerable<StreamPoint> points) =>
        points.Select(d.Observe).OfType<SpikeSignal>().ToList();

    [Fact]
    public void Non_finite_loss_or_grad_norm_is_always_a_spike()
    {
        var d = new NonFiniteDetector();
        Assert.Null(d.Observe(new(1, 2.0, 1.0)));
        Assert.Equal(SpikeMetric.Loss, d.Observe(new(2, double.NaN, 1.0))!.Metric);
        Assert.Equal(SpikeMetric.GradNorm, d.Observe(new(3, 2.0, double.PositiveInfinity))!.Metric);
    }

    [Fact]
    public void Z_score_fires_on_a_jump_above_mean_plus_k_std_but_not_during_warmup_or_on_noise()
    {
        var d = new ZScoreDetector(new ZScoreSettings(true, SpikeMetric.Loss, Window: 50, K: 6, Warmup: 20));
        var points = Noisy(100).ToList();
        points[5] = points[5] with { Loss = 9 };      // during warm-up: ignored (and out of the window by step 61)
        points[60] = points[60] with { Loss = 4 };    // far above 6 std of a 0.01-wide stream
        var hits = Run(d, points);
        var hit = Assert.Single(hits);
        Assert.Equal(61, hit.Step);
        Assert.Equal("z-score", hit.Rule);
        Assert.True(hit.Threshold < 4 && hit.Mean > 2.9);
    }

    [Fact]
    public void Z_score_keeps_spikes_out_of_its_history_so_a_second_one_is_caught_too()
    {
        var d = new ZScoreDetector(new ZScoreSettings(true, SpikeMetric.GradNorm, Window: 30, K: 6, Warmup: 10));
        var points = Noisy(60).ToList();
        points[40] = points[40] with { GradNorm = 50 };
        points[41] = points[41] with { GradNorm = 50 };
        Assert.Equal([41L, 42], Run(d, points).Select(h => h.Step));
    }

    [Fact]
    public void Ratio_needs_patience_consecutive_high_values()
    {
        var d = new RatioDetector(new RatioSettings(true, SpikeMetric.Loss, Window: 20, Ratio: 1.5, Patience: 3, Warmup: 10));
        var points = Noisy(60).ToList();
        points[20] = points[20] with { Loss = 6 };                // a single high value: no spike
        for (var i = 40; i < 43; i++) points[i] = points[i] with { Loss = 6 };
        var hit = Assert.Single(Run(d, points));
        Assert.Equal(43, hit.Step);
        Assert.Equal(1.5 * hit.Mean, hit.Threshold, 9);
    }

    [Fact]
    public void A_watch_reports_the_first_rule_that_fires_and_feeds_all_detectors()
    {
        var z = new ZScoreSettings(true, SpikeMetric.Loss, 50, 6, 10);
        var q = new RatioSettings(true, SpikeMetric.Loss, 50, 1.5, 1, 10);
        var watch = SpikeWatch.From(new SpikeSettings(true, z, q, new DivergenceSettings(false, 8, 0.25), new RollbackSettings(false, 0, false, 1, 0), RiskSettings.Off, Replay: false));
        var points = Noisy(30).Append(new StreamPoint(31, double.NaN, 1)).Append(new StreamPoint(32, 9, 1)).ToList();
        Assert.Equal(["non-finite", "z-score"], Run(watch, points).Select(h => h.Rule));
    }

    static DivergenceDetector Divergence() => new(new DivergenceSettings(true, Window: 8, Rise: 0.25));

    [Fact]
    public void Divergence_is_silent_on_a_noisy_falling_loss_from_step_1()
    {
        // Byte-level losses from ln(256) = 5.5 down to ~2 with per-step noise of +-0.3.
        var points = Enumerable.Range(1, 400).Select(i => new StreamPoint(i, 2 + 3.5 * Math.Exp(-i / 60.0) + 0.3 * Math.Sin(i * 1.7), 1));
        Assert.Empty(Run(Divergence(), points));
    }

    [Fact]
    public void Divergence_leaves_a_single_step_spike_to_the_other_rules()
    {
        var points = Noisy(100).ToList();
        points[60] = points[60] with { Loss = 150 };
        Assert.Empty(Run(Divergence(), points));
    }

    [Fact]
    public void Divergence_fires_in_the_first_steps_where_the_other_rules_still_warm_up()
    {
        // The shape of a natural blow-up at a too-high lr: falling to 5.0 by step 10, then climbing to 8.75 by step 35.
        var loss = Enumerable.Range(1, 40).Select(i => i <= 10 ? 5.5 - 0.05 * i : 5.0 + 0.15 * (i - 10)).ToList();
        var points = loss.Select((l, i) => new StreamPoint(i + 1, l, 1)).ToList();
        var hit = Run(Divergence(), points).First();
        Assert.Equal("divergence", hit.Rule);
        Assert.InRange(hit.Step, 11, 35);
        Assert.True(hit.Value > hit.Threshold && hit.Threshold == 1.25 * hit.Mean);
        // Dated from before the window of the best median (steps ending near the minimum at step 10).
        Assert.InRange(hit.Since!.Value, 2, 10);
        var z = new ZScoreDetector(new ZScoreSettings(true, SpikeMetric.Loss, 128, 6, 64));
        Assert.Empty(Run(z, points));
    }
}

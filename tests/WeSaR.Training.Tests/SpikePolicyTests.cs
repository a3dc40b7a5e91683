using WeSaR.Training.Spikes;

namespace WeSaR.Training.Tests;

public sealed class SpikePolicyTests
{
    static SpikeSettings Settings() => new(true, new ZScoreSettings(true, SpikeMetric.Loss, 16, 6, 8),
        new RatioSettings(false, SpikeMetric.Loss, 16, 2, 1, 8), new DivergenceSettings(false, 8, 0.25), new RollbackSettings(true, 0, true, 1.0, 2), RiskSettings.Off, Replay: false);

    static IEnumerable<StreamPoint> Flat(int from, int to) => Enumerable.Range(from, to - from + 1).Select(i => new StreamPoint(i, 3 + 0.01 * Math.Sin(i), 1));

    [Fact]
    public void Rollbacks_count_only_when_taken_and_the_count_starts_where_the_journal_left_it()
    {
        var policy = new SpikePolicy(Settings(), rollbacksSoFar: 1);
        policy.Reset(Flat(1, 20));
        var spike = policy.Observe(new StreamPoint(21, 50, 1))!;
        var first = policy.Decide(spike, [10, 20]);
        Assert.Equal(20, first.Rollback!.ToStep);
        Assert.Equal(first, policy.Decide(spike, [10, 20]));   // deciding alone changes nothing
        policy.Taken(first);
        Assert.Equal(2, policy.Rollbacks);
        Assert.StartsWith("z-score spike", policy.Decide(spike, [10, 20]).Failure);   // spike.rollback.max = 2
    }

    [Fact]
    public void Reset_rebuilds_the_detectors_from_the_surviving_history_alone()
    {
        var policy = new SpikePolicy(Settings());
        Assert.Null(policy.Observe(new StreamPoint(1, 50, 1)));   // still warming up
        policy.Reset(Flat(1, 20));
        Assert.NotNull(policy.Observe(new StreamPoint(21, 50, 1)));
    }
}

using WeSaR.Training.Loop;

namespace WeSaR.Training.Tests;

public sealed class MemoryTrendTests
{
    static MetricsLine Line(long step, double rss, long tensors) => new(step, 1, 1, 1e-3, step, 1, rss, LiveTensors: tensors);

    static List<MetricsLine> Run(Func<long, double> rss, Func<long, long> tensors) =>
        Enumerable.Range(1, 20).Select(i => Line(i * 100L, rss(i * 100L), tensors(i * 100L))).ToList();

    [Fact]
    public void Warm_up_growth_in_the_first_half_is_not_a_leak()
    {
        // The plateau seen on a 2-core EPYC: 611 MiB at step 200, 1218 at 400, then flat near 1255.
        var trend = MemoryTrend.Of(Run(s => s < 500 ? 300 + 2.3 * s : 1255 + s % 300 / 100, _ => 182));
        Assert.False(trend.Leaks, trend.ToString());
        Assert.Equal(1000, trend.FromStep);
    }

    [Fact]
    public void One_more_live_tensor_is_a_leak_even_with_flat_rss()
    {
        Assert.True(MemoryTrend.Of(Run(_ => 400, s => s >= 1500 ? 183 : 182)).Leaks);
    }

    [Fact]
    public void Steady_rss_growth_late_in_the_run_is_a_leak()
    {
        var trend = MemoryTrend.Of(Run(s => 400 + 0.1 * s, _ => 182));   // 100 MiB over the second half
        Assert.True(trend.Leaks, trend.ToString());
        Assert.Equal(100, trend.RssGrowthMb, 1);
    }

    [Fact]
    public void Dense_early_measurements_do_not_pull_the_window_into_warm_up()
    {
        var dense = Enumerable.Range(1, 100).Select(s => Line(s, 300 + 9 * s, 182)).Concat(Run(_ => 1255, _ => 182).Skip(1)).ToList();
        var trend = MemoryTrend.Of(dense);
        Assert.Equal((1000L, 2000L), (trend.FromStep, trend.ToStep));
        Assert.False(trend.Leaks, trend.ToString());
    }

    [Fact]
    public void Too_few_measured_lines_are_refused()
    {
        Assert.Throws<ArgumentException>(() => MemoryTrend.Of([Line(100, 1, 1), Line(200, 1, 1)]));
    }
}

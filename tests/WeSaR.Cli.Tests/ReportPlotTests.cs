using WeSaR.Cli.Reports;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>The report's plot helpers: one colour per scheme, readable log ticks; and bare `wesar`.</summary>
public sealed class ReportPlotTests
{
    // The paper's nine schemes (issue 14's comparison), which one plot shows together.
    static readonly string[] Schemes =
        ["normal", "small", "he", "megatron", "scaled-embed", "embed-ln", "wesar(he)", "wesar(small)", "wesar-frozen(he)"];

    [Fact]
    public void A_scheme_has_one_colour_and_common_schemes_differ()
    {
        Assert.All(Schemes, s => Assert.Equal(SweepReport.SchemeColor(s), SweepReport.SchemeColor(new string(s.ToCharArray()))));
        Assert.Equal(Schemes.Length, Schemes.Select(SweepReport.SchemeColor).Distinct().Count());
        string[] known = [.. Schemes, "wesar(normal)", "wesar(megatron)"];
        Assert.Equal(known.Length, known.Select(SweepReport.SchemeColor).Distinct().Count());
        foreach (var other in new[] { "wesar(embed-ln)", "scaled-embed(he)", "embed-ln(he)", "wesar-frozen(small)", "x", "" })
            Assert.DoesNotContain(SweepReport.SchemeColor(other), known.Select(SweepReport.SchemeColor));
    }

    [Fact]
    public void Log_ticks_fall_on_1_2_5_values()
    {
        var values = SweepReport.LogTicks(Math.Log10(0.03), Math.Log10(6)).Select(t => Math.Round(Math.Pow(10, t), 6));
        Assert.Equal([0.05, 0.1, 0.2, 0.5, 1, 2, 5], values);
    }

    [Fact]
    public void Bare_wesar_prints_help_and_exits_2()
    {
        var r = Wesar.Run();
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("Usage:", r.Stdout + r.Stderr);
    }
}

using System.Diagnostics;
using WeSaR.Model;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using static TorchSharp.torch;

namespace WeSaR.Training.Loop;

/// <summary>Step times of one scheme: every timed step of every repeat, and what they mean against the hardware.</summary>
/// <param name="FlopsPerToken">Model FLOPs per token trained, <see cref="Footprint.FlopsPerToken"/>.</param>
public sealed record StepTimes(string Scheme, IReadOnlyList<double> Seconds, long TokensPerStep, double FlopsPerToken)
{
    public double Min => Seconds.Min();

    public double Median => Seconds.Order().ElementAt(Seconds.Count / 2);

    /// <summary>Model FLOP utilisation at a step time, against a peak in FLOP/s.</summary>
    public double Mfu(double seconds, double peak) => TokensPerStep * FlopsPerToken / seconds / peak;
}

/// <summary>
/// `wesar bench step`: the training step of a config per init scheme, alternating schemes within each repeat, against
/// an sgemm measured in the same process (the hardware's reachable peak on these threads).
/// </summary>
public static class StepBenchmark
{
    const int Warmup = 3;

    /// <summary>Best FLOP/s of an n x n x n float32 matmul over a few tries (2 n³ FLOPs each).</summary>
    public static double SgemmPeak(int n = 2048, int tries = 5)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n);
        var b = randn(n, n);
        mm(a, b).Dispose();
        var best = double.MaxValue;
        for (var i = 0; i < tries; i++)
        {
            var t = Stopwatch.GetTimestamp();
            mm(a, b).Dispose();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t).TotalSeconds);
        }
        return 2.0 * n * n * n / best;
    }

    /// <summary>Times <paramref name="steps"/> steps (after a short warm-up) of each scheme, <paramref name="repeats"/> times, alternating.</summary>
    public static IReadOnlyList<StepTimes> Run(IReadOnlyList<TrainSettings> schemes, TokenFile data, int steps, int repeats)
    {
        var seconds = schemes.Select(_ => new List<double>()).ToList();
        var shapes = new (long TokensPerStep, double Flops)[schemes.Count];
        for (var r = 0; r < repeats; r++)
            for (var i = 0; i < schemes.Count; i++)
            {
                using var trainer = new Trainer(schemes[i], data);
                var model = trainer.Model;
                shapes[i] = ((long)schemes[i].Train.BatchSize * model.Config.BlockSize, Footprint.Of(model.Config, model.Scheme, schemes[i].Train.BatchSize).FlopsPerToken);
                for (var s = 0; s < Warmup; s++) trainer.TrainStep(measure: false);
                for (var s = 0; s < steps; s++)
                {
                    var t = Stopwatch.GetTimestamp();
                    trainer.TrainStep(measure: false);
                    seconds[i].Add(Stopwatch.GetElapsedTime(t).TotalSeconds);
                }
            }
        return schemes.Select((s, i) => new StepTimes(s.Init.Scheme.Name, seconds[i], shapes[i].TokensPerStep, shapes[i].Flops)).ToList();
    }
}

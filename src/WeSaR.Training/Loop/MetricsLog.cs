using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WeSaR.Training.Loop;

/// <summary>
/// metrics.jsonl: one JSON object per logged step (step, loss, grad_norm, lr, tokens, tokens_per_s, rss_mb, and
/// update_ratio / gate / live_tensors / val_loss / val_ppl / spike where present). Each line is flushed as written.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.jsonl";
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    readonly StreamWriter writer;

    /// <summary>Opens for appending after dropping lines past <paramref name="keepThroughStep"/> (steps a resume will redo).</summary>
    public MetricsLog(string path, long keepThroughStep)
    {
        if (File.Exists(path))
        {
            var kept = File.ReadLines(path).Where(l => l.Length > 0 && Parse(l).Step <= keepThroughStep).ToList();
            File.WriteAllLines(path, kept);
        }
        writer = new StreamWriter(path, append: true, new UTF8Encoding(false)) { AutoFlush = true };
    }

    public void Write(MetricsLine line) => writer.WriteLine(JsonSerializer.Serialize(line, Json));

    public static MetricsLine Parse(string line) => JsonSerializer.Deserialize<MetricsLine>(line, Json)!;

    public static IReadOnlyList<MetricsLine> Read(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(Parse).ToList();

    public void Dispose() => writer.Dispose();
}

/// <summary>One line of metrics.jsonl.</summary>
public sealed record MetricsLine(long Step, double Loss, double GradNorm, double Lr, long Tokens, double TokensPerS, double RssMb,
    IReadOnlyDictionary<string, double>? UpdateRatio = null, IReadOnlyDictionary<string, double>? Gate = null,
    double? ValLoss = null, double? ValPpl = null, string? Spike = null, long? LiveTensors = null);

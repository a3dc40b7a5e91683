using System.Text.Json;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace WeSaR.Model.Export;

/// <summary>
/// How gated matrices leave: <c>Fold</c> writes alpha*W as the weight (what plain GPT code expects), <c>Keep</c>
/// writes W and its gate alpha apart (to go on training the reparameterisation elsewhere).
/// </summary>
public enum GateMode { Fold, Keep }

/// <summary>
/// config.json of an export: the shape and every flag a loader needs to compute the same forward pass
/// (docs/export.md). <c>Gated</c>: the scheme reparameterises its matrices; <c>GatesFolded</c>: their gates are
/// multiplied into the weights, so the file holds no <c>.gate</c> tensors.
/// </summary>
public sealed record ExportConfig(string Architecture, int VocabSize, int BlockSize, int NLayer, int NHead, int DModel, int DHidden,
    bool QkNorm, bool ScaledEmbed, bool EmbedNorm, bool Gated, bool GatesFolded, double RmsNormEps, double LayerNormEps,
    string Tokenizer, string Scheme, long Step)
{
    public const string Name = "wesar-gpt";
}

/// <summary>A model's weights as model.safetensors (through TorchSharp.PyBridge) plus config.json, for PyTorch and the like.</summary>
public static class ModelExport
{
    public const string WeightsFile = "model.safetensors", ConfigFile = "config.json";

    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>The state dict by its TorchSharp names, on the CPU; with <see cref="GateMode.Fold"/> every gated matrix as alpha*W and no gates.</summary>
    public static Dictionary<string, Tensor> Weights(Gpt model, GateMode mode)
    {
        var weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous());
        if (mode == GateMode.Keep) return weights;
        foreach (var (name, matrix) in model.Matrices().Where(m => m.Matrix.Gate is not null))
        {
            weights[name + ".weight"] = matrix.EffectiveWeight().cpu().contiguous();
            weights.Remove(name + ".gate");
        }
        return weights;
    }

    public static ExportConfig Config(Gpt model, GateMode mode, string tokenizer, long step)
    {
        var (c, s) = (model.Config, model.Scheme);
        var gated = model.Matrices().Any(m => m.Matrix.Gate is not null);
        return new ExportConfig(ExportConfig.Name, c.VocabSize, c.BlockSize, c.NLayer, c.NHead, c.DModel, c.DHidden, c.QkNorm,
            s.ScaledEmbed, s.EmbedNorm, gated, gated && mode == GateMode.Fold, RmsNorm.DefaultEps, Gpt.LayerNormEps, tokenizer, s.Name, step);
    }

    /// <summary>Writes both files into <paramref name="dir"/> (created if need be, files there replaced); returns the tensors written.</summary>
    public static int Write(string dir, Gpt model, GateMode mode, string tokenizer, long step)
    {
        Directory.CreateDirectory(dir);
        using var scope = NewDisposeScope();
        var weights = Weights(model, mode);
        Safetensors.SaveStateDict(Path.Combine(dir, WeightsFile), weights);
        File.WriteAllBytes(Path.Combine(dir, ConfigFile), JsonSerializer.SerializeToUtf8Bytes(Config(model, mode, tokenizer, step), Json));
        return weights.Count;
    }
}

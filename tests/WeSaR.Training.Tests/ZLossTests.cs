using WeSaR.Training.Config;
using WeSaR.Training.Loop;
using static TorchSharp.torch;

namespace WeSaR.Training.Tests;

public sealed class ZLossTests
{
    [Fact]
    public void The_z_loss_is_its_weight_times_the_mean_squared_log_normaliser()
    {
        // Rows [0, ln 3] and [0, 0]: log Z = ln 4 and ln 2, so mean((log Z)²) = (4 + 1) / 2 · (ln 2)².
        using var logits = tensor(new[] { 0f, (float)Math.Log(3), 0f, 0f }).view(2, 2);
        Assert.Equal(1e-4 * 2.5 * Math.Log(2) * Math.Log(2), ZLoss.Of(logits, 1e-4).item<float>(), 1e-10);
        using var loss = tensor(1.5f);
        Assert.Equal(1.5 + 1e-4 * 2.5 * Math.Log(2) * Math.Log(2), ZLoss.Objective(loss, logits, 1e-4).item<float>(), 1e-6);
        Assert.Same(loss, ZLoss.Objective(loss, logits, 0));   // off: the loss itself, so runs without it stay bit for bit
    }

    [Fact]
    public void The_stability_keys_default_to_off_and_reach_the_model_and_the_objective()
    {
        Assert.False(TrainSettings.Load(null, []).Model.ToGpt(256).QkNorm);
        Assert.True(TrainSettings.Load(null, ["model.qk-norm=on"]).Model.ToGpt(256).QkNorm);
        Assert.Equal(0, TrainSettings.Load(null, []).Optim.ZLoss);
        Assert.Equal(1e-4, TrainSettings.Load(null, ["optim.z-loss=1e-4"]).Optim.ZLoss);
        Assert.Contains("optim.z-loss must be at least 0, got -1", Assert.Throws<ConfigException>(() => TrainSettings.Load(null, ["optim.z-loss=-1"])).Problems);
    }
}

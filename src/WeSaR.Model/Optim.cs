using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WeSaR.Model;

/// <summary>AdamW hyper-parameters (defaults: the WeSaR paper's pre-training set-up, beta2 0.95, weight decay 0.1).</summary>
public sealed record AdamWOptions(double Lr, double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-8, double WeightDecay = 0.1);

public static class Optim
{
    /// <summary>
    /// AdamW with two groups, in a fixed order (optimizer state is matched by position on load):
    /// matrices decay; gates, norm gains and anything else below 2-D do not. Frozen gates are left out.
    /// Build it after the model is on its device and has loaded its weights.
    /// </summary>
    public static AdamW AdamW(nn.Module model, AdamWOptions o)
    {
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        // Options, not the (ps, weight_decay:) overload, which silently resets the group's lr to 1e-3.
        return optim.AdamW([
            new AdamW.ParamGroup(trainable.Where(p => p.dim() >= 2).ToList(), new AdamW.Options { weight_decay = o.WeightDecay }),
            new AdamW.ParamGroup(trainable.Where(p => p.dim() < 2).ToList(), new AdamW.Options { weight_decay = 0.0 }),
        ], lr: o.Lr, beta1: o.Beta1, beta2: o.Beta2, eps: o.Eps);
    }

    /// <summary>Sets every group's learning rate (the schedule is a pure function of the step).</summary>
    public static void SetLearningRate(OptimizerHelper opt, double lr)
    {
        foreach (var g in opt.ParamGroups) g.LearningRate = lr;
    }
}

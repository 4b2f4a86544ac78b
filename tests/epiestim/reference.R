# Writes EpiEstim's data sets and EpiEstim's own Rt estimates as CSV, for parity tests.
# Usage: Rscript tests/epiestim/reference.R OUT_DIR   (needs Debian's r-cran-epiestim)
suppressPackageStartupMessages(library(EpiEstim))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "tests/epiestim"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

write_result <- function(res, name) {
  r <- res$R
  names(r) <- c("t_start", "t_end", "mean", "std", "q2_5", "q5", "q25", "median", "q75", "q95", "q97_5")
  write.csv(r, file.path(out, paste0(name, ".expected.csv")), row.names = FALSE)
}

quiet <- function(expr) suppressWarnings(suppressMessages(expr))
for (name in c("Flu2009", "Flu1918", "Measles1861", "SARS2003", "Smallpox1972")) {
  env <- new.env()
  data(list = name, package = "EpiEstim", envir = env)
  d <- get(name, envir = env)
  incid <- if (is.data.frame(d$incidence)) d$incidence$I else d$incidence
  write.csv(data.frame(I = incid), file.path(out, paste0(name, ".incidence.csv")), row.names = FALSE)
  write.csv(data.frame(k = seq_along(d$si_distr) - 1, p = d$si_distr),
            file.path(out, paste0(name, ".si_distr.csv")), row.names = FALSE)
  res <- quiet(estimate_R(incid, method = "non_parametric_si", config = make_config(list(si_distr = d$si_distr))))
  write_result(res, paste0(name, ".non_parametric"))
}

# The parametric example of the EpiEstim vignette: Flu2009 with mean 2.6 and sd 1.5.
env <- new.env()
data("Flu2009", package = "EpiEstim", envir = env)
incid <- env$Flu2009$incidence$I
res <- quiet(estimate_R(incid, method = "parametric_si", config = make_config(list(mean_si = 2.6, std_si = 1.5))))
write_result(res, "Flu2009.parametric")
# Local and imported cases, custom windows and prior.
local <- incid; imported <- c(incid[1], rep(0, length(incid) - 1)); local[1] <- 0
imported[10] <- 3; imported[15] <- 2
write.csv(data.frame(local = local, imported = imported), file.path(out, "Flu2009.imported.incidence.csv"), row.names = FALSE)
res <- quiet(estimate_R(data.frame(local = local, imported = imported), method = "parametric_si",
                        config = make_config(list(mean_si = 2.6, std_si = 1.5, t_start = c(2, 5, 10, 20),
                                                  t_end = c(6, 12, 18, 32), mean_prior = 2, std_prior = 1))))
write_result(res, "Flu2009.imported.parametric")

// Sign-in in two steps: login and password, then the code from the authenticator app or the SMS.

import {api, clearProblems, showProblem} from "../api.js";
import {errorLine, field, h, uid} from "../dom.js";
import {t} from "../i18n.js";

export async function render(view, {query, done}) {
  const next = query.get("next") || "/";
  const card = h("section", {class: "signin panel", "aria-labelledby": "signin-title"});
  view.append(h("div", {class: "signin-wrap"}, card));

  function passwordStep() {
    const login = h("input", {id: uid("login"), name: "login", type: "text", autocomplete: "username",
                              inputmode: "email", autocapitalize: "none", spellcheck: "false", required: true});
    const password = h("input", {id: uid("password"), name: "password", type: "password",
                                 autocomplete: "current-password", required: true});
    const button = h("button", {type: "submit", class: "primary"}, t("login.submit"));
    const form = h("form", {novalidate: true}, field(t("login.login"), login), field(t("login.password"), password),
                   errorLine(), h("div", {class: "form-actions"}, button));
    form.addEventListener("submit", async e => {
      e.preventDefault();
      clearProblems(form);
      button.disabled = true;
      try {
        const result = await api("/login", {method: "POST", body: {login: login.value.trim(),
                                                                    password: password.value}});
        if (result.second_factor === "none") await done(next);
        else codeStep(result.second_factor);
      } catch (err) {
        showProblem(form, err);
        if (err.kind === "bad-credentials") { password.value = ""; password.focus(); }
      } finally {
        button.disabled = false;
      }
    });
    card.replaceChildren(h("h1", {id: "signin-title"}, t("login.title")), h("p", {class: "lead"}, t("login.lead")),
                         form);
    login.focus();
  }

  function codeStep(factor) {
    const code = h("input", {id: uid("code"), name: "code", type: "text", inputmode: "numeric",
                             autocomplete: "one-time-code", maxlength: "6", required: true, class: "code"});
    const button = h("button", {type: "submit", class: "primary"}, t("login.verify"));
    const again = h("button", {type: "button", class: "link-button"}, t("login.restart"));
    again.addEventListener("click", passwordStep);
    const form = h("form", {novalidate: true},
                   field(t("login.code"), code, t(factor === "sms" ? "login.code-sms" : "login.code-totp")),
                   errorLine(), h("div", {class: "form-actions"}, button, again));
    form.addEventListener("submit", async e => {
      e.preventDefault();
      clearProblems(form);
      button.disabled = true;
      try {
        await api("/login/verify", {method: "POST", body: {code: code.value.replace(/\s/g, "")}});
        await done(next);
      } catch (err) {
        showProblem(form, err);
      } finally {
        button.disabled = false;
      }
    });
    card.replaceChildren(h("h1", {id: "signin-title"}, t("login.second-title")),
                         h("p", {class: "lead"}, t("login.second-lead")), form);
    code.focus();
  }

  passwordStep();
}

// Light and dark themes: the system's (prefers-color-scheme) unless the user chose one (kept in localStorage).

export type ThemeChoice = "system" | "light" | "dark";
const KEY = "docktray.theme";

function stored(): ThemeChoice {
  try {
    const value = localStorage.getItem(KEY);
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

class Theme {
  choice = $state<ThemeChoice>("system");
  private systemDark = $state(false);
  effective = $derived<"light" | "dark">(this.choice === "system" ? (this.systemDark ? "dark" : "light") : this.choice);

  init(): void {
    this.choice = stored();
    const query = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
    this.systemDark = query?.matches ?? false;
    query?.addEventListener?.("change", (e) => (this.systemDark = e.matches));
    $effect.root(() => {
      $effect(() => {
        document.documentElement.dataset.theme = this.effective;
      });
    });
  }

  set(choice: ThemeChoice): void {
    this.choice = choice;
    try {
      if (choice === "system") localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, choice);
    } catch {
      // Storage may be unavailable; the choice still holds for this session.
    }
  }

  /** system -> light -> dark -> system. */
  cycle(): void {
    this.set(this.choice === "system" ? "light" : this.choice === "light" ? "dark" : "system");
  }
}

export const theme = new Theme();

/** The stack of headings above the current position: a level-n heading replaces every heading at level n or deeper. */
export class HeadingTrail {
  private readonly stack: { level: number; text: string }[] = [];

  enter(level: number, text: string): void {
    while (this.stack.length > 0 && this.stack[this.stack.length - 1].level >= level) this.stack.pop();
    this.stack.push({ level, text });
  }

  path(): string[] {
    return this.stack.map((heading) => heading.text);
  }
}
